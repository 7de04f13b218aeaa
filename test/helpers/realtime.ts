import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { connect as netConnect, type AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { io as ioClient, type ManagerOptions, type Socket as ClientSocket, type SocketOptions } from 'socket.io-client'
import type { CorsPolicyOptions } from '../../lib/config.js'
import { corsPolicy } from '../../plugins/cors.js'
import { realtime } from '../../plugins/realtime.js'
import type { RealtimeOptions, SocketUser } from '../../plugins/realtime-types.js'

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

const defaultRealtime: RealtimeOptions = {
  authenticate: (handshake) => {
    const token = (handshake.auth.token as string | undefined) ?? handshake.signedCookies.session
    return token === undefined ? undefined : USERS[token]
  },
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
}

/** A listening Fastify app on 127.0.0.1:0 with corsPolicy + realtime, and counters of what got through. */
export async function startApp (t: TestLike, options: StartOptions = {}): Promise<RealtimeApp> {
  const logs: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as LogLine)
      callback()
    }
  })
  const app = Fastify({ logger: { level: 'info', stream } })
  if (options.closeOnTeardown !== false) t.teardown(() => app.close())
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
  await app.listen({ port: 0, host: '127.0.0.1' })
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

/** Resolves with `connect`, rejects with `connect_error`. */
export async function connected (socket: ClientSocket): Promise<ClientSocket> {
  return await new Promise((resolve, reject) => {
    socket.once('connect', () => { resolve(socket) })
    socket.once('connect_error', reject)
  })
}

/** Resolves with the `connect_error` (or rejects if the socket connects). */
export async function connectError (socket: ClientSocket): Promise<Error & { description?: unknown, type?: string }> {
  return await new Promise((resolve, reject) => {
    socket.once('connect', () => { reject(new Error('connected, but a connect_error was expected')) })
    socket.once('connect_error', resolve)
  })
}

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  rawHeaders: string[]
  body: string
}

/** One raw HTTP request, with whatever headers (Origin included) the test wants. */
export async function raw (url: string, options: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
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
  /** Everything the server wrote before the connection ended (or before the timeout, for a 101). */
  received: string
  /** Whether the server ended the connection. */
  closed: boolean
}

/**
 * A hand-written WebSocket upgrade on a raw TCP socket. Resolves when the server closes the
 * connection, or `settleMs` after the response head arrived (a 101 stays open).
 */
export async function rawUpgrade (port: number, path: string, headers: Record<string, string> = {}, settleMs = 150): Promise<RawUpgrade> {
  return await new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1')
    let received = ''
    let timer: NodeJS.Timeout | undefined
    const finish = (closed: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      const [head = ''] = received.split('\r\n\r\n')
      const statusLine = head.split('\r\n')[0] ?? ''
      resolve({ statusLine, status: Number(statusLine.split(' ')[1]), head, received, closed })
    }
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      received += chunk
      if (timer === undefined && received.includes('\r\n\r\n')) timer = setTimeout(() => { finish(false) }, settleMs)
    })
    socket.on('close', () => { finish(true) })
    socket.on('error', (error) => { if (received === '') reject(error) })
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)
    ]
    socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  })
}

/** Waits until `predicate` holds, polling every 10 ms; throws after `timeoutMs`. */
export async function until (predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * A hand-written request head (e.g. an upgrade with other headers than `rawUpgrade` sends) on a raw TCP
 * socket to `host`; resolves like `rawUpgrade`: when the server closes, or `settleMs` after the head arrived.
 */
export async function rawExchange (port: number, lines: string[], host = '127.0.0.1', settleMs = 150): Promise<RawUpgrade> {
  return await new Promise((resolve, reject) => {
    const socket = netConnect(port, host)
    let received = ''
    let timer: NodeJS.Timeout | undefined
    const finish = (closed: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      const [head = ''] = received.split('\r\n\r\n')
      const statusLine = head.split('\r\n')[0] ?? ''
      resolve({ statusLine, status: Number(statusLine.split(' ')[1]), head, received, closed })
    }
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      received += chunk
      if (timer === undefined && received.includes('\r\n\r\n')) timer = setTimeout(() => { finish(false) }, settleMs)
    })
    socket.on('close', () => { finish(true) })
    socket.on('error', (error) => { if (received === '') reject(error) })
    socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  })
}

/** The head lines of a WebSocket upgrade of `path` (version 13 unless `headers` says otherwise). */
export function upgradeLines (port: number, path: string, headers: Record<string, string> = {}): string[] {
  const all: Record<string, string> = {
    host: `localhost:${port}`,
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers
  }
  return [`GET ${path} HTTP/1.1`, ...Object.entries(all).map(([name, value]) => `${name}: ${value}`)]
}
