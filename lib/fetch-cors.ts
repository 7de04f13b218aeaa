/**
 * The checks a browser applies to a cross-origin response, as the Fetch standard writes them, the
 * messages Chrome, Firefox and Safari print when one fails, and the fix. Pure functions of what was sent
 * and what came back, with no Node built-ins, so that a browser page can run them too.
 */

/** How the page made the request: `fetch()`, XMLHttpRequest (socket.io-client's polling), or a WebSocket. */
export type Initiator = 'fetch' | 'xhr' | 'websocket'

export type CorsFailure =
  | 'no-response'
  | 'missing-allow-origin'
  | 'multiple-allow-origin'
  | 'allow-origin-mismatch'
  | 'wildcard-with-credentials'
  | 'credentials-not-true'
  | 'preflight-status'
  | 'method-not-allowed'
  | 'header-not-allowed'
  | 'handshake-failed'
  | 'websocket-refused'
  | 'websocket-accepts-refused-origin'

export interface SentRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
}

export interface ReceivedResponse {
  readonly status: number
  /** Lowercase names; a repeated header's values joined with `, ` (as Node and the Fetch standard's "get" combine them). */
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
}

export interface Verdict {
  readonly pass: boolean
  readonly failure?: CorsFailure
  /** The value the failure is about: the header value, the method, the header name, the status. */
  readonly detail?: string
  /** Something to know that is not a CORS failure (e.g. a status the page can read). */
  readonly note?: string
}

export interface BrowserMessages {
  readonly chrome: string
  readonly firefox: string
  readonly safari: string
}

/** What a message needs besides the failure. */
export interface MessageContext {
  readonly url: string
  readonly origin: string
  readonly status?: number
  readonly initiator: Initiator
  readonly preflight: boolean
}

const SAFELISTED_METHODS = new Set(['GET', 'HEAD', 'POST'])
/**
 * Request headers a page may send without a preflight (https://fetch.spec.whatwg.org/#cors-safelisted-request-header),
 * here by name alone: `content-type` is left out because only three of its values are safelisted, and a
 * caller naming it means JSON or another type that needs the preflight.
 */
const SAFELISTED_HEADERS = new Set(['accept', 'accept-language', 'content-language', 'range'])

/** The failed part of the verdicts below, with its detail. */
function fail (failure: CorsFailure, detail?: string): Verdict {
  return detail === undefined ? { pass: false, failure } : { pass: false, failure, detail }
}

const PASS: Verdict = Object.freeze({ pass: true })

/**
 * The names a page's headers put in `Access-Control-Request-Headers`: the CORS-unsafe ones, lowercase,
 * sorted, without repeats (https://fetch.spec.whatwg.org/#cors-unsafe-request-header-names).
 */
export function unsafeHeaderNames (names: readonly string[]): string[] {
  return [...new Set(names.map((name) => name.trim().toLowerCase()).filter((name) => name !== '' && !SAFELISTED_HEADERS.has(name)))].sort()
}

/** Whether a browser sends a preflight first (https://fetch.spec.whatwg.org/#cors-preflight-fetch, "main fetch" step 12). */
export function needsPreflight (method: string, headerNames: readonly string[]): boolean {
  return !SAFELISTED_METHODS.has(method) || unsafeHeaderNames(headerNames).length > 0
}

/** The CORS check (https://fetch.spec.whatwg.org/#concept-cors-check). */
export function corsCheck (origin: string, credentials: boolean, response: ReceivedResponse): Verdict {
  const allowOrigin = response.headers['access-control-allow-origin']
  if (allowOrigin === undefined) return fail('missing-allow-origin')
  if (!credentials && allowOrigin === '*') return PASS
  // Byte for byte: no trimming, no case folding (https://fetch.spec.whatwg.org/#concept-cors-check step 4).
  if (allowOrigin !== origin) {
    if (allowOrigin === '*') return fail('wildcard-with-credentials', allowOrigin)
    return fail(allowOrigin.includes(',') ? 'multiple-allow-origin' : 'allow-origin-mismatch', allowOrigin)
  }
  if (!credentials) return PASS
  const allowCredentials = response.headers['access-control-allow-credentials']
  return allowCredentials === 'true' ? PASS : fail('credentials-not-true', allowCredentials ?? '')
}

/**
 * The checks on a preflight's response (https://fetch.spec.whatwg.org/#cors-preflight-fetch steps 7–8):
 * the CORS check, an ok status, then the method and every CORS-unsafe header name listed
 * (`*` counts only without credentials, and never for Authorization).
 */
export function preflightCheck (origin: string, credentials: boolean, method: string, headerNames: readonly string[], response: ReceivedResponse): Verdict {
  const cors = corsCheck(origin, credentials, response)
  if (!cors.pass) return cors
  if (response.status < 200 || response.status > 299) return fail('preflight-status', String(response.status))
  const methods = splitList(response.headers['access-control-allow-methods'])
  if (!SAFELISTED_METHODS.has(method) && !methods.includes(method) && (credentials || !methods.includes('*'))) {
    return fail('method-not-allowed', method)
  }
  const allowed = new Set(splitList(response.headers['access-control-allow-headers']).map((name) => name.toLowerCase()))
  const wildcard = !credentials && allowed.has('*')
  for (const name of unsafeHeaderNames(headerNames)) {
    if (!allowed.has(name) && (!wildcard || name === 'authorization')) return fail('header-not-allowed', name)
  }
  return PASS
}

/**
 * A response that passed the CORS check may still carry an error status; the page reads it as it is.
 * Only a failed CORS check hides the response from the page.
 */
export function requestCheck (origin: string, credentials: boolean, response: ReceivedResponse): Verdict {
  const cors = corsCheck(origin, credentials, response)
  if (!cors.pass || response.status < 400) return cors
  return { pass: true, note: `status ${response.status}: the page can read this error response` }
}

/** The engine.io v4 handshake (`0{"sid":…}`): the CORS check, then an answer socket.io-client accepts. */
export function handshakeCheck (origin: string, credentials: boolean, response: ReceivedResponse): Verdict & { sid?: string } {
  const cors = corsCheck(origin, credentials, response)
  if (!cors.pass) return cors
  const sid = response.status === 200 ? handshakeSid(response.body ?? '') : undefined
  if (sid === undefined) return fail('handshake-failed', `${response.status} ${truncate(response.body ?? '')}`)
  return { pass: true, sid }
}

/** A polling request of an open session (`sid`): the CORS check, then a 200. */
export function pollCheck (origin: string, credentials: boolean, response: ReceivedResponse): Verdict {
  const cors = corsCheck(origin, credentials, response)
  if (!cors.pass) return cors
  if (response.status !== 200) return fail('handshake-failed', `${response.status} ${truncate(response.body ?? '')}`)
  // engine.io v4 separates the packets of a payload with the record separator, U+001E.
  const refused = (response.body ?? '').split('\u001e').find((packet) => packet.startsWith('44'))
  return refused === undefined ? PASS : { pass: true, note: `the namespace refused the CONNECT (socket.io CONNECT_ERROR ${refused.slice(2)}); that is the app's authentication, not CORS` }
}

/**
 * A WebSocket upgrade. Browsers apply no CORS to WebSockets (RFC 6455 §10.2: the server must check
 * `Origin` itself), so a 101 for an origin the HTTP checks refuse is a hole: any page on that origin
 * opens a socket with the user's cookies.
 */
export function upgradeCheck (response: ReceivedResponse, acceptValid: boolean, httpRefused: boolean): Verdict {
  if (response.status !== 101 || !acceptValid) return fail('websocket-refused', String(response.status))
  if (httpRefused) return fail('websocket-accepts-refused-origin')
  return PASS
}

/** The packets of an engine.io v4 polling payload start with `0` for the handshake. */
function handshakeSid (body: string): string | undefined {
  if (!body.startsWith('0{')) return undefined
  const end = body.indexOf('\x1e')
  try {
    const open = JSON.parse(body.slice(1, end === -1 ? undefined : end)) as { sid?: unknown }
    return typeof open.sid === 'string' ? open.sid : undefined
  } catch {
    return undefined
  }
}

function splitList (value: string | undefined): string[] {
  return (value ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '')
}

function truncate (text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}…` : text
}

/** What to change on the server (or in the page) for each failure. */
export const FAILURE_FIXES: Readonly<Record<CorsFailure, string>> = Object.freeze({
  'no-response': 'check the URL, that the server runs and listens there, and any proxy or firewall in between',
  'missing-allow-origin': 'the server refused this origin or has no CORS at all: add the exact origin to its allowlist (fastify-cors-io: `origins` / CORS_ORIGINS; @fastify/cors and socket.io `cors`: `origin`); run `fastify-cors-io explain ORIGIN` against your configuration',
  'multiple-allow-origin': 'send one origin, not a list: a server must echo the request\'s Origin when it is allowed, or a proxy adds a second header (drop one of the two CORS layers)',
  'allow-origin-mismatch': 'echo the request\'s Origin exactly (scheme, host, port, no trailing slash), not a fixed or a rewritten value',
  'wildcard-with-credentials': 'with credentials, echo the allowed origin instead of "*" (and list the origins you trust), or make the request without credentials',
  'credentials-not-true': 'turn credentials on (`credentials: true`, CORS_CREDENTIALS=true; Access-Control-Allow-Credentials: true), or make the request without cookies (fetch `credentials: \'omit\'`, socket.io-client `withCredentials: false`)',
  'preflight-status': 'answer OPTIONS preflights with 204 or 200: an auth hook or a missing OPTIONS route answers them with an error now',
  'method-not-allowed': 'add the method to the methods the preflight grants (`methods`, Access-Control-Allow-Methods)',
  'header-not-allowed': 'add the header to the request headers the preflight grants (`allowedHeaders`, Access-Control-Allow-Headers), or stop sending it',
  'handshake-failed': 'the Socket.IO server refused or did not recognise the handshake: check the path (`--socket-path`, socket.io `path`), that the transport is enabled, and the server\'s allowRequest/verifyHandshake',
  'websocket-refused': 'the server refused the upgrade from this origin: list the origin (it is the same allowlist as for HTTP with fastify-cors-io), check the path and any proxy (it must pass `Upgrade` and `Connection`)',
  'websocket-accepts-refused-origin': 'the server checks Origin on HTTP but not on WebSocket upgrades: pages of this origin can open sockets with the user\'s cookies (cross-site WebSocket hijacking). Check Origin on upgrades too (socket.io `allowRequest`, or fastify-cors-io\'s realtime plugin)'
})

/** The wording of each engine for a failure: Chromium `cors_error_string.cc`, Firefox `security.properties` (MDN "CORS errors"), WebKit `CrossOriginAccessControl.cpp`. */
export function browserMessages (failure: CorsFailure, detail: string | undefined, context: MessageContext): BrowserMessages {
  const { url, origin, status, initiator, preflight } = context
  if (initiator === 'websocket') return websocketMessages(failure, url, status)
  const value = detail ?? ''
  const chromeKind = initiator === 'fetch' ? 'fetch' : 'XMLHttpRequest'
  const chromePrefix = `Access to ${chromeKind} at '${url}' from origin '${origin}' has been blocked by CORS policy: ${preflight ? 'Response to preflight request doesn\'t pass access control check: ' : ''}`
  const noCors = initiator === 'fetch' ? ' Have the server send the header with a valid value, or, if an opaque response serves your needs, set the request\'s mode to \'no-cors\' to fetch the resource with CORS disabled.' : ''
  const xhrCredentials = initiator === 'xhr' ? ' The credentials mode of requests initiated by the XMLHttpRequest is controlled by the withCredentials attribute.' : ''
  const firefox = (reason: string, withStatus = false): string =>
    `Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at ${url}. (Reason: ${reason}).${withStatus ? ` Status code: ${status ?? '(null)'}.` : ''}`
  const safariLoad = `${initiator === 'fetch' ? 'Fetch API' : 'XMLHttpRequest'} cannot load ${url} due to access control checks.`
  const safari = (reason: string): string => `${reason} ${safariLoad}`
  // WebKit checks a preflight's status before its headers (CrossOriginAccessControl.cpp validatePreflightResponse).
  const safariPreflightStatus = preflight && status !== undefined && (status < 200 || status > 299) ? `Preflight response is not successful. Status code: ${status}` : undefined

  const messages = ((): BrowserMessages => {
    switch (failure) {
      case 'missing-allow-origin': return {
        chrome: `${chromePrefix}No 'Access-Control-Allow-Origin' header is present on the requested resource.${initiator === 'fetch' ? ' If an opaque response serves your needs, set the request\'s mode to \'no-cors\' to fetch the resource with CORS disabled.' : ''}`,
        firefox: firefox('CORS header ‘Access-Control-Allow-Origin’ missing', true),
        safari: safari(`Origin ${origin} is not allowed by Access-Control-Allow-Origin. Status code: ${status}`)
      }
      case 'allow-origin-mismatch': return {
        chrome: `${chromePrefix}The 'Access-Control-Allow-Origin' header has a value '${value}' that is not equal to the supplied origin.${noCors}`,
        firefox: firefox(`CORS header ‘Access-Control-Allow-Origin’ does not match ‘${value}’`),
        safari: safari(`Origin ${origin} is not allowed by Access-Control-Allow-Origin. Status code: ${status}`)
      }
      case 'multiple-allow-origin': return {
        chrome: `${chromePrefix}The 'Access-Control-Allow-Origin' header contains multiple values '${value}', but only one is allowed.${noCors}`,
        firefox: firefox('Multiple CORS header ‘Access-Control-Allow-Origin’ not allowed'),
        safari: safari('Access-Control-Allow-Origin cannot contain more than one origin.')
      }
      case 'wildcard-with-credentials': return {
        chrome: `${chromePrefix}The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'.${xhrCredentials}`,
        firefox: firefox('Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’'),
        safari: safari('Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is true.')
      }
      case 'credentials-not-true': return {
        chrome: `${chromePrefix}The value of the 'Access-Control-Allow-Credentials' header in the response is '${value}' which must be 'true' when the request's credentials mode is 'include'.${xhrCredentials}`,
        firefox: firefox('expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’'),
        safari: safari('Credentials flag is true, but Access-Control-Allow-Credentials is not "true".')
      }
      case 'preflight-status': return {
        chrome: `${chromePrefix}It does not have HTTP ok status.`,
        firefox: firefox('CORS preflight response did not succeed', true),
        safari: safari(`Preflight response is not successful. Status code: ${status}`)
      }
      case 'method-not-allowed': return {
        chrome: `${chromePrefix}Method ${value} is not allowed by Access-Control-Allow-Methods in preflight response.`,
        firefox: firefox('Did not find method in CORS header ‘Access-Control-Allow-Methods’'),
        safari: safari(`Method ${value} is not allowed by Access-Control-Allow-Methods.`)
      }
      case 'header-not-allowed': return {
        chrome: `${chromePrefix}Request header field ${value} is not allowed by Access-Control-Allow-Headers in preflight response.`,
        firefox: firefox(`header ‘${value}’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response`),
        safari: safari(`Request header field ${value} is not allowed by Access-Control-Allow-Headers.`)
      }
      case 'handshake-failed': return {
        // Not a CORS failure: the page reads the error, and socket.io-client reports `xhr poll error`.
        chrome: `GET ${url} ${status} (socket.io-client: connect_error "xhr poll error")`,
        firefox: `XHR GET ${url} [HTTP/1.1 ${status}] (socket.io-client: connect_error "xhr poll error")`,
        safari: `Failed to load resource: the server responded with a status of ${status} (socket.io-client: connect_error "xhr poll error")`
      }
      default: return {
        // Only the console says why; the page gets a bare TypeError / error event.
        chrome: `Failed to load resource: net::ERR_CONNECTION_REFUSED (or another net:: error) for ${url}`,
        firefox: firefox('CORS request did not succeed', true),
        safari: `${initiator === 'fetch' ? 'Fetch API' : 'XMLHttpRequest'} cannot load ${url}. Could not connect to the server.`
      }
    }
  })()
  return safariPreflightStatus === undefined ? messages : { ...messages, safari: safari(safariPreflightStatus) }
}

function websocketMessages (failure: CorsFailure, url: string, status: number | undefined): BrowserMessages {
  if (failure === 'websocket-accepts-refused-origin') {
    const none = 'no message: the browser opens the socket, which is the problem'
    return { chrome: none, firefox: none, safari: none }
  }
  if (status === undefined) {
    return { chrome: `WebSocket connection to '${url}' failed: `, firefox: `Firefox can’t establish a connection to the server at ${url}.`, safari: `WebSocket connection to '${url}' failed: Could not connect to the server.` }
  }
  return {
    chrome: `WebSocket connection to '${url}' failed: Error during WebSocket handshake: Unexpected response code: ${status}`,
    firefox: `Firefox can’t establish a connection to the server at ${url}.`,
    safari: `WebSocket connection to '${url}' failed: The server did not accept the WebSocket handshake.`
  }
}
