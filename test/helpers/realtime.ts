import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http'
import { connect as netConnect, type AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { io as ioClient, type ManagerOptions, type Socket as ClientSocket, type SocketOptions } from 'socket.io-client'
import type { CorsPolicyOptions } from '../../lib/config.js'
import { corsPolicy } from '../../plugins/cors.js'
import { realtime } from '../../plugins/realtime.js'
import type { RealtimeOptions, SocketHandshake, SocketUser } from '../../plugins/realtime-types.js'

export const ALLOWED = 'https://app.example'
export const EVIL = 'https://evil.example'
export const COOKIE_SECRET = 'a-cookie-secret-of-enough-length-for-tests'

/** A test is a tap `t`, minus what the helpers do not need. */
export interface TestLike {
  teardown: (fn: () => unknown) => void
}

/** One log line as pino writes it. */
export type LogLine = Record<string, unknown> & { msg: string, level: number }

export interface RealtimeApp {
  app: FastifyInstance
  port: number
  origin: string
  /** Server-side counters: engine.io sessions and socket.io namespace connections. */
  counters: { engine: number, namespaces: Map<string, number> }
  logs: LogLine[]
  url: (path?: string) => string
}

/**
 * Users by the token a client sends in `auth.token` or the signed cookie `session`. `name` and `role`
 * because the example app augments `SocketUser` with them, and `tsc -p tsconfig.json` sees that too.
 */
export const USERS: Record<string, SocketUser & { name: string, role: 'admin' | 'user' }> = {
  'admin-token': { id: 'u-admin', name: 'Ada', role: 'admin' },
  'user-token': { id: 'u-user', name: 'Uma', role: 'user' }
}

/** The tests' `authenticate`: the user of the handshake's `auth.token`, or of its signed `session` cookie. */
export function tokenUser (handshake: SocketHandshake): SocketUser | undefined {
  const token = (handshake.auth.token as string | undefined) ?? handshake.signedCookies.session
  return token === undefined ? undefined : USERS[token]
}

const defaultRealtime: RealtimeOptions = {
  authenticate: tokenUser,
  isAdmin: (user) => (user as SocketUser & { role?: string }).role === 'admin'
}

export interface StartOptions {
  cors?: CorsPolicyOptions
  realtime?: Partial<RealtimeOptions>
  /** Runs after corsPolicy and before realtime (e.g. to register @fastify/cookie). */
  before?: (app: FastifyInstance) => Promise<void> | void
  /** Runs after realtime and before listen (routes, namespaces). */
  after?: (app: FastifyInstance) => Promise<void> | void
  /** Close the app in teardown (default true). */
  closeOnTeardown?: boolean
  /** The port to listen on (default 0: any), e.g. to restart an app where its clients look for it. */
  port?: number
}

/** A pino destination stream that keeps every line it is given, parsed, in `logs`. */
export function logCollector (): { logs: LogLine[], stream: Writable } {
  const logs: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as LogLine)
      callback()
    }
  })
  return { logs, stream }
}

export interface RegistrationSetup {
  /** corsPolicy's options, or `false` not to register it. Default `{ origins: [ALLOWED] }`. */
  cors?: CorsPolicyOptions | false
  /** Runs before realtime is registered (routes, other plugins). */
  before?: (app: FastifyInstance) => void
  /** Runs after realtime is registered. */
  after?: (app: FastifyInstance) => void
}

/** Registers corsPolicy and realtime with exactly `options`, readies and closes the app; returns the error it failed with, if any. */
export async function registrationError (options: Record<string, unknown>, setup: RegistrationSetup = {}): Promise<unknown> {
  const app = Fastify()
  try {
    if (setup.cors !== false) await app.register(corsPolicy, setup.cors ?? { origins: [ALLOWED] })
    setup.before?.(app)
    await app.register(realtime, options as unknown as RealtimeOptions)
    setup.after?.(app)
    await app.ready()
  } catch (error) {
    return error
  } finally {
    await app.close()
  }
  return undefined
}

/** A listening Fastify app on 127.0.0.1:0 with corsPolicy + realtime, and counters of what got through. */
export async function startApp (t: TestLike, options: StartOptions = {}): Promise<RealtimeApp> {
  const { logs, stream } = logCollector()
  const app = Fastify({ logger: { level: 'info', stream } })
  // Bounded, so that a close that hangs says so instead of running into tap's timeout for the whole file.
  if (options.closeOnTeardown !== false) t.teardown(() => within(app.close(), 'app.close() in teardown', 15_000))
  await app.register(corsPolicy, { origins: [ALLOWED], credentials: true, ...options.cors })
  await options.before?.(app)
  await app.register(realtime, { ...defaultRealtime, ...options.realtime } as RealtimeOptions)
  await options.after?.(app)
  const counters = { engine: 0, namespaces: new Map<string, number>() }
  app.io.engine.on('connection', () => { counters.engine++ })
  const countNamespace = (name: string): void => {
    app.io.of(name).on('connection', () => { counters.namespaces.set(name, (counters.namespaces.get(name) ?? 0) + 1) })
  }
  countNamespace('/')
  countNamespace(app.dashboard.namespace.name)
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' })
  const port = (app.server.address() as AddressInfo).port
  const origin = `http://127.0.0.1:${port}`
  return { app, port, origin, counters, logs, url: (path = '/socket.io/') => `${origin}${path}` }
}

export type ClientOptions = Partial<ManagerOptions & SocketOptions>

/** A socket.io-client socket that never reconnects on its own and is closed in teardown. */
export function client (t: TestLike, url: string, options: ClientOptions = {}): ClientSocket {
  const socket = ioClient(url, { forceNew: true, reconnection: false, ...options })
  t.teardown(() => { socket.disconnect() })
  return socket
}

/** How long a test waits for something that should happen at once; long enough for a loaded 2-core CI. */
export const WAIT_MS = 5000

/**
 * Settles like `promise`, or rejects after `timeoutMs` with "timed out after N ms waiting for WHAT",
 * so a wait that never ends fails fast and says what did not happen instead of hitting tap's timeout.
 */
export async function within<T> (promise: Promise<T>, what: string | (() => string), timeoutMs = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`)) }, timeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Node's EventEmitter and socket.io-client's emitters alike; `any` because their event maps are typed. */
export interface Listenable {
  on: (event: any, listener: (...args: any[]) => void) => unknown
  once: (event: any, listener: (...args: any[]) => void) => unknown
  off: (event: any, listener: (...args: any[]) => void) => unknown
}

export interface WaitForOptions<T = unknown> {
  /** Says what did not happen when the wait times out or fails. */
  what: string
  timeoutMs?: number
  /** An event that fails the wait if it comes first (its argument becomes the rejection). */
  failOn?: string
  /** Waits for the first `event` whose argument passes this test (e.g. a retained value that is sent first, then updated). */
  until?: (value: T) => boolean
}

/** Resolves with the first argument of the next `event` (that passes `until`); bounded by `within`. */
export async function waitFor<T = unknown> (emitter: Listenable, event: string, { what, timeoutMs, failOn, until }: WaitForOptions<T>): Promise<T> {
  let onEvent = (_value: T): void => {}
  let onFail = (_error: unknown): void => {}
  const settled = new Promise<T>((resolve, reject) => {
    onEvent = (value) => { if (until === undefined || until(value)) resolve(value) }
    onFail = (error) => { reject(error instanceof Error ? error : new Error(`${failOn} instead of ${what}: ${String(error)}`)) }
    emitter.on(event, onEvent)
    if (failOn !== undefined) emitter.once(failOn, onFail)
  })
  try {
    return await within(settled, what, timeoutMs)
  } finally {
    emitter.off(event, onEvent)
    if (failOn !== undefined) emitter.off(failOn, onFail)
  }
}

/** Resolves with `connect`, rejects with `connect_error` or after `timeoutMs`. */
export async function connected (socket: ClientSocket, timeoutMs = WAIT_MS): Promise<ClientSocket> {
  await waitFor(socket, 'connect', { what: 'the client socket to connect', timeoutMs, failOn: 'connect_error' })
  return socket
}

/** Resolves with the `connect_error`; rejects if the socket connects, or after `timeoutMs`. */
export async function connectError (socket: ClientSocket, timeoutMs = WAIT_MS): Promise<Error & { description?: unknown, type?: string }> {
  return await waitFor(socket, 'connect_error', { what: 'a connect_error on the client socket', timeoutMs, failOn: 'connect' })
}

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  rawHeaders: string[]
  body: string
}

/** One raw HTTP request, with whatever headers (Origin included) the test wants. */
export async function raw (url: string, options: { method?: string, headers?: Record<string, string>, body?: string, agent?: Agent } = {}): Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** How many times a header appears in a raw header list. */
export function headerCount (response: { rawHeaders: string[] }, name: string): number {
  let count = 0
  for (let i = 0; i < response.rawHeaders.length; i += 2) if (response.rawHeaders[i]!.toLowerCase() === name) count++
  return count
}

/** A polling handshake; returns the engine.io sid (throws unless it got one). */
export async function pollingHandshake (base: string, headers: Record<string, string> = { origin: ALLOWED }): Promise<string> {
  const response = await raw(`${base}?EIO=4&transport=polling`, { headers })
  if (response.status !== 200 || !response.body.startsWith('0{')) throw new Error(`handshake failed: ${response.status} ${response.body}`)
  return (JSON.parse(response.body.slice(1)) as { sid: string }).sid
}

export interface RawUpgrade {
  /** The status line, e.g. `HTTP/1.1 403 Forbidden`. */
  statusLine: string
  status: number
  head: string
  /** Everything the server wrote until it closed the connection or, after a 101, its first frame. */
  received: string
  /** Whether the server ended the connection. */
  closed: boolean
}

function parseUpgrade (received: string, closed: boolean): RawUpgrade {
  const [head = ''] = received.split('\r\n\r\n')
  const statusLine = head.split('\r\n')[0] ?? ''
  return { statusLine, status: Number(statusLine.split(' ')[1]), head, received, closed }
}

/**
 * A hand-written request head on a raw TCP socket to `host` (an upgrade with any headers, see
 * `upgradeLines`). Resolves when the server closes the connection, or, after a 101, when its first
 * frame arrives (engine.io's open packet): that frame proves the accepted connection is served, where
 * "still open after a while" would prove nothing. Rejects after `timeoutMs` if neither happens.
 */
export async function rawExchange (port: number, lines: readonly string[], host = '127.0.0.1', timeoutMs = WAIT_MS): Promise<RawUpgrade> {
  const socket = netConnect(port, host)
  const answered = new Promise<RawUpgrade>((resolve, reject) => {
    let received = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      received += chunk
      const headEnd = received.indexOf('\r\n\r\n')
      if (headEnd !== -1 && received.length > headEnd + 4 && received.startsWith('HTTP/1.1 101 ')) resolve(parseUpgrade(received, false))
    })
    socket.on('close', () => { resolve(parseUpgrade(received, true)) })
    socket.on('error', (error) => { if (received === '') reject(error) })
  })
  socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  try {
    return await within(answered, `the server to close ${lines[0]} or, after a 101, to send a frame`, timeoutMs)
  } finally {
    socket.destroy()
  }
}

/** The head lines of a WebSocket upgrade of `path`; `headers` add to or replace (by lowercase name) the defaults. */
export function upgradeLines (port: number, path: string, headers: Record<string, string> = {}): string[] {
  const all: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers
  }
  return [`GET ${path} HTTP/1.1`, ...Object.entries(all).map(([name, value]) => `${name}: ${value}`)]
}

/** A WebSocket upgrade of `path` on 127.0.0.1 (see `rawExchange` for when it resolves). */
export async function rawUpgrade (port: number, path: string, headers: Record<string, string> = {}, timeoutMs = WAIT_MS): Promise<RawUpgrade> {
  return await rawExchange(port, upgradeLines(port, path, headers), '127.0.0.1', timeoutMs)
}

/** Waits until `predicate` holds, polling every 10 ms; throws after `timeoutMs`, naming `what`. */
export async function until (predicate: () => boolean, timeoutMs = WAIT_MS, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** The `(pid, offset)` pair socket.io-client presents to recover its session (its private fields). */
export function sessionPair (socket: ClientSocket): { pid: string, offset: string } {
  const { _pid: pid, _lastOffset: offset } = socket as unknown as { _pid?: string, _lastOffset?: string }
  if (pid === undefined || offset === undefined) throw new Error('the socket has no recovery pair (recovery off, or no event received yet)')
  return { pid, offset }
}

/** Kills a client's WebSocket at the TCP level: a transport close, not a deliberate disconnect. */
export function dropTransport (socket: ClientSocket): void {
  const transport = socket.io.engine.transport as unknown as { ws: { _socket: { destroy: () => void } } }
  transport.ws._socket.destroy()
}

export interface RawPollingSession {
  sid: string
  /** Posts Socket.IO packets (e.g. `40/admin,{"token":"t"}`) in one polling POST. */
  post: (packets: readonly string[]) => Promise<RawResponse>
  /** Every packet received so far, in order. */
  received: string[]
  /** Polls until `done(received)` holds; throws, naming `what`, after `timeoutMs` or if the session ends first. */
  pollUntil: (done: (received: readonly string[]) => boolean, what: string, timeoutMs?: number) => Promise<string[]>
}

/** An engine.io polling session driven by hand, to send and see the raw Socket.IO packets. */
export async function rawPolling (base: string, headers: Record<string, string> = { origin: ALLOWED }): Promise<RawPollingSession> {
  const sid = await pollingHandshake(base, headers)
  const url = `${base}?EIO=4&transport=polling&sid=${sid}`
  const received: string[] = []
  const post = async (packets: readonly string[]): Promise<RawResponse> =>
    await raw(url, { method: 'POST', headers: { ...headers, 'content-type': 'text/plain;charset=UTF-8' }, body: packets.join('\x1e') })
  const pollUntil = async (done: (received: readonly string[]) => boolean, what: string, timeoutMs = 5000): Promise<string[]> => {
    const polling = { expired: false }
    const poll = async (): Promise<string[]> => {
      while (!polling.expired && !done(received)) {
        const response = await raw(url, { headers })
        if (response.status !== 200) throw new Error(`the session ended (${response.status} ${response.body}) before ${what}; received ${JSON.stringify(received)}`)
        received.push(...response.body.split('\x1e'))
      }
      return received
    }
    try {
      return await within(poll(), () => `${what}; received ${JSON.stringify(received)}`, timeoutMs)
    } finally {
      polling.expired = true
    }
  }
  return { sid, post, received, pollUntil }
}

/** Collects the payloads of one event on a client socket. */
export function collect<T> (socket: Listenable, event: string): T[] {
  const received: T[] = []
  socket.on(event, (payload: T) => { received.push(payload) })
  return received
}

/**
 * The next `test:sentinel` on a socket. The server sends it after the events under test on the same
 * connection, and Socket.IO delivers one connection's packets in order: once it has arrived, an event
 * sent before it that has not arrived never will ("nothing else came" without a sleep).
 */
export async function sentinel (socket: Listenable): Promise<string> {
  return await waitFor<string>(socket, 'test:sentinel', { what: 'the sentinel event' })
}
