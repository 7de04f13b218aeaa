import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import {
  browserMessages, FAILURE_FIXES, handshakeCheck, needsPreflight, pollCheck, preflightCheck, requestCheck, unsafeHeaderNames, upgradeCheck,
  type BrowserMessages, type Initiator, type ReceivedResponse, type SentRequest, type Verdict
} from './fetch-cors.js'

export interface DoctorOptions {
  /** The HTTP resource a page of `origin` calls. */
  readonly url: string
  readonly origin: string
  /** Sent on every request; makes the HTTP request and the Socket.IO polling credentialed. */
  readonly cookie?: string
  /** Credentialed without a cookie (fetch `credentials: 'include'`, socket.io-client `withCredentials: true`). */
  readonly credentials?: boolean
  readonly method?: string
  /** Names of the request headers the page sets. */
  readonly headers?: readonly string[]
  /** socket.io `path`, `/socket.io/` by default; `undefined` with `socket: false` to skip the Socket.IO steps. */
  readonly socketPath?: string
  readonly socket?: boolean
  /** Bound of each exchange. */
  readonly timeoutMs?: number
}

export type StepName = 'preflight' | 'request' | 'polling-handshake' | 'polling-send' | 'polling-receive' | 'websocket'

export interface DoctorStep {
  readonly step: StepName
  readonly sent: SentRequest
  /** Absent when the step was skipped, or no answer came (then `verdict.failure` is `no-response`). */
  readonly received?: ReceivedResponse
  /** Why the step was not run: a browser would not send it. */
  readonly skipped?: string
  readonly verdict: Verdict
  readonly messages?: BrowserMessages
  readonly fix?: string
}

export interface DoctorReport {
  readonly url: string
  readonly origin: string
  readonly credentials: boolean
  readonly pass: boolean
  readonly steps: readonly DoctorStep[]
}

const DEFAULT_TIMEOUT_MS = 10_000
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
/** What a browser runs on no matter what: these are not the page's to set. */
const USER_AGENT = 'fastify-cors-io doctor'

/**
 * Probes a running server as a browser on `origin` would (Fetch standard, socket.io-client 4 with
 * engine.io protocol 4): the preflight when one is needed, the request, then the Socket.IO polling
 * handshake, a CONNECT sent and its answer read with the session id, and a WebSocket upgrade. Needs
 * nothing of the server but its URL.
 */
export async function doctor (options: DoctorOptions): Promise<DoctorReport> {
  const { url, origin } = options
  const credentials = options.cookie !== undefined || options.credentials === true
  const method = (options.method ?? 'GET').toUpperCase()
  const headerNames = options.headers ?? []
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const base: Record<string, string> = { origin, 'user-agent': USER_AGENT, ...(options.cookie === undefined ? {} : { cookie: options.cookie }) }
  const steps: DoctorStep[] = []

  const preflightSent = { method: 'OPTIONS', url, headers: preflightHeaders(origin, method, headerNames) }
  let preflightPassed = true
  if (needsPreflight(method, headerNames)) {
    // A preflight never carries cookies (https://fetch.spec.whatwg.org/#cors-preflight-fetch step 1).
    const step = await exchange('preflight', preflightSent, timeoutMs, 'fetch', true, (received) => preflightCheck(origin, credentials, method, headerNames, received), origin)
    preflightPassed = step.verdict.pass
    steps.push(step)
  } else {
    steps.push({ step: 'preflight', sent: preflightSent, skipped: `not needed: ${method} with these headers is a simple request (Fetch standard, CORS-safelisted method and request-headers)`, verdict: { pass: true } })
  }
  const requestSent = { method, url, headers: { ...base, ...Object.fromEntries(headerNames.map((name) => [name.toLowerCase(), name.toLowerCase() === 'content-type' ? 'application/json' : 'doctor'])) } }
  const request = preflightPassed
    ? await exchange('request', requestSent, timeoutMs, 'fetch', false, (received) => requestCheck(origin, credentials, received), origin)
    : { step: 'request' as const, sent: requestSent, skipped: 'not sent: a browser stops at a failed preflight', verdict: { pass: false } }
  steps.push(request)

  if (options.socket !== false) steps.push(...await socketSteps(new URL(options.socketPath ?? '/socket.io/', url), origin, credentials, base, timeoutMs, refusesOrigin(request.verdict)))
  return { url, origin, credentials, pass: steps.every((step) => step.verdict.pass), steps }
}

function preflightHeaders (origin: string, method: string, headerNames: readonly string[]): Record<string, string> {
  const unsafe = unsafeHeaderNames(headerNames)
  return { origin, 'user-agent': USER_AGENT, 'access-control-request-method': method, ...(unsafe.length === 0 ? {} : { 'access-control-request-headers': unsafe.join(',') }) }
}

async function socketSteps (endpoint: URL, origin: string, credentials: boolean, base: Record<string, string>, timeoutMs: number, httpRefused: boolean): Promise<DoctorStep[]> {
  // socket.io-client sends cookies on polling only with `withCredentials: true`, and XHR sends them then.
  const pollHeaders = credentials ? base : withoutCookie(base)
  const query = (params: string): string => { const url = new URL(endpoint); url.search = `?EIO=4&${params}`; return url.href }
  const check = (received: ReceivedResponse): Verdict => handshakeCheck(origin, credentials, received)
  const handshake = await exchange('polling-handshake', { method: 'GET', url: query('transport=polling'), headers: pollHeaders }, timeoutMs, 'xhr', false, check, origin)
  const steps: DoctorStep[] = [handshake]
  const sid = (handshake.verdict as { sid?: string }).sid
  if (sid === undefined) {
    steps.push(skippedPoll('polling-send', `${query('transport=polling')}&sid=`), skippedPoll('polling-receive', `${query('transport=polling')}&sid=`))
  } else {
    const session = query(`transport=polling&sid=${encodeURIComponent(sid)}`)
    const poll = (received: ReceivedResponse): Verdict => pollCheck(origin, credentials, received)
    // The CONNECT of the main namespace (socket.io protocol 5 packet type 0), as socket.io-client sends it.
    steps.push(await exchange('polling-send', { method: 'POST', url: session, headers: { ...pollHeaders, 'content-type': 'text/plain;charset=UTF-8' }, body: '40' }, timeoutMs, 'xhr', false, poll, origin))
    steps.push(await exchange('polling-receive', { method: 'GET', url: session, headers: pollHeaders }, timeoutMs, 'xhr', false, poll, origin))
    // Closes the session (engine.io close packet) so the probe leaves nothing behind.
    await send({ method: 'POST', url: session, headers: { ...pollHeaders, 'content-type': 'text/plain;charset=UTF-8' }, body: '1' }, timeoutMs).catch(() => undefined)
  }
  steps.push(await websocket(new URL(query('transport=websocket')), base, timeoutMs, httpRefused || refusesOrigin(handshake.verdict)))
  return steps
}

/** Whether a verdict says the server refuses the origin itself (not the credentials, a method or a status). */
function refusesOrigin (verdict: Verdict): boolean {
  return verdict.failure === 'missing-allow-origin' || verdict.failure === 'allow-origin-mismatch'
}

function skippedPoll (step: StepName, url: string): DoctorStep {
  return { step, sent: { method: step === 'polling-send' ? 'POST' : 'GET', url, headers: {} }, skipped: 'no session: the handshake failed', verdict: { pass: false } }
}

function withoutCookie (headers: Record<string, string>): Record<string, string> {
  const { cookie, ...rest } = headers
  return rest
}

/** One request, evaluated; a failure to connect or a timeout is the `no-response` verdict. */
async function exchange (step: StepName, sent: SentRequest, timeoutMs: number, initiator: Initiator, preflight: boolean,
  check: (received: ReceivedResponse) => Verdict, origin: string): Promise<DoctorStep> {
  let received: ReceivedResponse
  try {
    received = await send(sent, timeoutMs)
  } catch (error) {
    return failed(step, sent, undefined, { pass: false, failure: 'no-response', detail: (error as Error).message }, initiator, preflight, origin)
  }
  return failed(step, sent, received, check(received), initiator, preflight, origin)
}

function failed (step: StepName, sent: SentRequest, received: ReceivedResponse | undefined, verdict: Verdict, initiator: Initiator, preflight: boolean, origin: string): DoctorStep {
  const result = { step, sent, ...(received === undefined ? {} : { received }), verdict }
  if (verdict.failure === undefined) return result
  const messages = browserMessages(verdict.failure, verdict.detail, { url: sent.url, origin, status: received?.status, initiator, preflight })
  return { ...result, messages, fix: FAILURE_FIXES[verdict.failure] }
}

async function send (sent: SentRequest, timeoutMs: number): Promise<ReceivedResponse> {
  const headers = sent.body === undefined ? sent.headers : { ...sent.headers, 'content-length': String(Buffer.byteLength(sent.body)) }
  return await new Promise((resolve, reject) => {
    const request = requester(sent.url)(sent.url, { method: sent.method, headers, agent: false, timeout: timeoutMs }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { body += chunk })
      response.on('end', () => { resolve({ status: response.statusCode!, headers: flatHeaders(response), body }) })
    })
    request.on('timeout', () => { request.destroy(new Error(`no answer within ${timeoutMs} ms`)) })
    request.on('error', reject)
    request.end(sent.body)
  })
}

/** The upgrade a browser's `new WebSocket(url)` sends (RFC 6455 §4.1), checked as RFC 6455 §4.2.2 answers it. */
async function websocket (url: URL, base: Record<string, string>, timeoutMs: number, httpRefused: boolean): Promise<DoctorStep> {
  const key = randomBytes(16).toString('base64')
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  // Browsers send cookies on upgrades whatever CORS says (the upgrade is not a CORS request).
  const sent: SentRequest = { method: 'GET', url: url.href, headers: { ...base, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': key } }
  const expected = createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64')
  const httpUrl = url.href.replace(/^ws/, 'http')
  let outcome: { received: ReceivedResponse, acceptValid: boolean }
  try {
    outcome = await new Promise((resolve, reject) => {
      const request = requester(httpUrl)(httpUrl, { method: 'GET', headers: sent.headers, agent: false, timeout: timeoutMs })
      request.on('upgrade', (response: IncomingMessage, socket: Socket) => {
        socket.destroy()
        resolve({ received: { status: 101, headers: flatHeaders(response) }, acceptValid: response.headers['sec-websocket-accept'] === expected })
      })
      request.on('response', (response) => {
        let body = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => { body += chunk })
        response.on('end', () => { resolve({ received: { status: response.statusCode!, headers: flatHeaders(response), body }, acceptValid: false }) })
      })
      request.on('timeout', () => { request.destroy(new Error(`no answer within ${timeoutMs} ms`)) })
      request.on('error', reject)
      request.end()
    })
  } catch (error) {
    return failed('websocket', sent, undefined, { pass: false, failure: 'no-response', detail: (error as Error).message }, 'websocket', false, base.origin)
  }
  return failed('websocket', sent, outcome.received, upgradeCheck(outcome.received, outcome.acceptValid, httpRefused), 'websocket', false, base.origin)
}

function requester (url: string): (url: string, options: RequestOptions, callback?: (response: IncomingMessage) => void) => ReturnType<typeof httpRequest> {
  return url.startsWith('https:') ? httpsRequest : httpRequest
}

/** Node joins repeated headers with `, ` except `set-cookie`, kept as an array: joined here too, for display. */
function flatHeaders (response: IncomingMessage): Record<string, string> {
  return Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)]))
}
