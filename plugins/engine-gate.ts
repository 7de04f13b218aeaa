import { STATUS_CODES, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import type { Socket as NetSocket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Server as Engine, Socket as EngineSession } from 'engine.io'
import type { FastifyInstance } from 'fastify'
import { enginePrefix, hasJsonpKey, hasSessionId, OpenSet, rawHttpResponse, type HttpAnswer } from '../lib/engine-http.js'
import { CorsConfigError } from '../lib/errors.js'
import type { LiveOriginPolicy } from '../lib/live-policy.js'
import type { OriginDecision } from '../lib/origin-matcher.js'
import { loggedOrigin, type HeaderMap, type WarnLogger } from '../lib/origin-policy.js'
import { GATE_CODES } from '../lib/protocol.js'

/** The part of a pino-style logger the gate needs. */
export interface GateLogger extends WarnLogger {
  error: (details: object, message: string) => void
}

export interface EngineGateOptions {
  policy: LiveOriginPolicy
  engine: Engine
  /** The URL prefix engine.io serves, from `gatePrefix()`. */
  prefix: string
  /** engine.io's attach option: how long another `upgrade` listener has to answer an upgrade outside the path. Default 1000 ms. */
  destroyUpgradeTimeout?: number | undefined
  requireOrigin: boolean
  log: GateLogger
}

/** The stable `code`s of the gate's own refusals; the table lives in lib/protocol.ts. */
export { GATE_CODES }

/**
 * Puts the origin policy in front of engine.io on every listening server. engine.io answers its path
 * before any Fastify hook runs, and its own `allowRequest` only sees handshakes, never requests that
 * carry a `sid` (engine.io `lib/server.ts` `verify()`, `attach()`), so every polling request and every
 * upgrade is checked here first.
 */
export interface EngineGate {
  /** Raw sockets of upgrades handed to engine.io that are still open (to cut them at shutdown). */
  readonly upgrades: OpenSet<Duplex>
  /**
   * Shutdown has begun: from now on new sessions (handshakes) and upgrades are answered 503, a session
   * engine.io still opens (a handshake that was in flight) is closed at once, and upgrades outside the
   * path that no other listener answered are cut. Requests of existing sessions still pass, so that
   * polling clients receive their DISCONNECT.
   */
  close: () => void
}

/** What the gate does with one engine.io request: end it with `answer`, or hand it to engine.io with `grant` added. */
interface GateOutcome {
  answer?: HttpAnswer | undefined
  grant?: HeaderMap | undefined
}

const JSON_TYPE = 'application/json; charset=utf-8'
const DESTROY_UPGRADE_TIMEOUT = 1000 // engine.io attach()'s default
/** What a request path must look like: an absolute path, nothing that ends it (query, fragment) or splits it. */
const PATH_SHAPE = /^\/[^\s?#]*$/

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void

/** The prefixes of every gate on a server, so that one gate leaves the upgrades of another's path alone. */
const gatedPrefixes = new WeakMap<HttpServer, string[]>()

/**
 * The URL prefix a gate for realtime's `path` and `addTrailingSlash` would serve on `server`, checked
 * before the plugin has any effect: socket.io would crash on a `path` that is not a string (socket.io
 * `dist/index.js` `path()` calls `v.replace`) and take an empty one for its default; the path must be a
 * URL path; and no other gate on the same HTTP server, whatever its encapsulation context (where
 * `hasDecorator('io')` does not see it), may serve a prefix that overlaps it: both would take the same
 * upgrades (each gate's `upgrade` listener hands them to its own engine.io) and one would never see its
 * requests.
 */
export function gatePrefix (server: HttpServer, path: unknown = '/socket.io', addTrailingSlash: unknown = true): string {
  if (typeof path !== 'string' || path === '') {
    throw new CorsConfigError('path', typeof path === 'string' ? 'is empty, not a URL path' : `${String(path)} is a ${typeof path}, not a URL path string`,
      'pass a string such as `path: \'/socket.io\'`, or leave `path` out for the default /socket.io')
  }
  const prefix = enginePrefix(path, addTrailingSlash !== false)
  if (!PATH_SHAPE.test(prefix)) {
    throw new CorsConfigError('path', `${JSON.stringify(path)} is not a URL path (it must start with "/" and have no query, fragment or whitespace)`,
      'pass an absolute path such as `path: \'/socket.io\'`')
  }
  const taken = gatedPrefixes.get(server)?.find((other) => other.startsWith(prefix) || prefix.startsWith(other))
  if (taken !== undefined) {
    throw new CorsConfigError('path', `${prefix} overlaps ${taken}, served by another realtime registration on the same HTTP server (another encapsulation context): both would take the same requests and upgrades`,
      'register realtime once and add namespaces with `app.io.of(name)`, or give each registration a `path` that does not start with the other\'s, e.g. `path: \'/chat\'`')
  }
  return prefix
}

export function gateEngine (fastify: FastifyInstance, options: EngineGateOptions): EngineGate {
  const { policy, engine, prefix, requireOrigin, log } = options
  refuseRoutesUnder(fastify, prefix)
  const server = fastify.server
  const prefixes = gatedPrefixes.get(server) ?? []
  prefixes.push(prefix)
  gatedPrefixes.set(server, prefixes)
  const extraServers = serverBindingsOf(fastify)
  const strayTimeout = options.destroyUpgradeTimeout ?? DESTROY_UPGRADE_TIMEOUT
  const upgrades = new OpenSet<Duplex>()
  const strays = new OpenSet<NetSocket>()
  let closing = false

  // Computed once: with realtime, no update may switch between `*` and a list (`originCheck`), so Vary stays.
  const answerOf = (statusCode: number, code: string, message: string, headers: HeaderMap = {}): HttpAnswer => Object.freeze({
    statusCode,
    headers: Object.freeze({ 'content-type': JSON_TYPE, ...(policy.vary === undefined ? {} : { vary: policy.vary }), ...headers }),
    body: JSON.stringify({ statusCode, code, error: STATUS_CODES[statusCode], message })
  })
  const jsonp = answerOf(403, GATE_CODES.jsonp, 'JSONP polling is not served')
  const crossSite = answerOf(403, GATE_CODES.crossSite, 'a cross-site browser request without Origin is not served')
  // RFC 6455 §4.4: an unsupported version is answered 426 with the versions the server speaks.
  const websocketVersion = answerOf(426, GATE_CODES.websocketVersion, 'only WebSocket version 13 is served', { 'sec-websocket-version': '13' })
  const unavailable = answerOf(503, GATE_CODES.closing, 'the server is shutting down')
  const failure = answerOf(500, GATE_CODES.failure, 'internal error')

  /** One warn line per kind of refusal per minute, counted with the origin refusals. */
  const logRefusal = (request: IncomingMessage, code: string, why: string): void => {
    const suppressed = policy.refusals.take(code)
    if (suppressed === undefined) return
    log.warn({ code, ...loggedOrigin(request.headers.origin), secFetchSite: request.headers['sec-fetch-site'], method: request.method, url: request.url, suppressed }, why)
  }

  /**
   * The answer that ends this engine.io request before engine.io sees it, or the grant to add to engine.io's;
   * a promise only while an `origins` function's lookup runs (it never rejects).
   */
  const decide = (request: IncomingMessage, url: string, upgrade: boolean): GateOutcome | Promise<GateOutcome> => {
    if (refusedByShutdown(url, upgrade)) return { answer: unavailable }
    // hybi-08 carried its origin in Sec-WebSocket-Origin, which nothing checks; version 13 moved it to
    // Origin (RFC 6455 §4.1, §4.4), and `ws` still accepts 8.
    if (upgrade && request.headers['sec-websocket-version'] !== '13') {
      logRefusal(request, GATE_CODES.websocketVersion, 'WebSocket upgrade refused: only version 13 (RFC 6455) carries the Origin that the policy checks')
      return { answer: websocketVersion }
    }
    // A <script src> is a no-cors GET: sent with the user's cookies and without Origin (Fetch standard,
    // "append a request Origin header"), and engine.io would answer it with executable JSONP holding a
    // fresh sid (engine.io `lib/transports/polling-jsonp.ts`). engine.io-client 4+ never sends `j`.
    if (hasJsonpKey(url)) {
      logRefusal(request, GATE_CODES.jsonp, 'engine.io JSONP polling (query key `j`) refused: any page could read its reply; no supported client uses it')
      return { answer: jsonp }
    }
    const decision = policy.lookup(request.headers.origin, request)
    if (!(decision instanceof Promise)) return conclude(request, url, upgrade, decision)
    // Shutdown may have begun during the lookup: engine.io may be closed by now.
    return decision.then((settled) => refusedByShutdown(url, upgrade) ? { answer: unavailable } : conclude(request, url, upgrade, settled))
  }

  /** During shutdown, no new session (handshake) nor upgrade; requests of existing sessions still pass. */
  const refusedByShutdown = (url: string, upgrade: boolean): boolean => closing && (upgrade || !hasSessionId(url))

  const conclude = (request: IncomingMessage, url: string, upgrade: boolean, decision: OriginDecision): GateOutcome => {
    const verdict = policy.verdict(request.method, request.headers, decision, upgrade ? 'websocket' : 'polling')
    if (decision.allowed) return { answer: verdict.answer, grant: verdict.headers }
    if (decision.reason === 'absent' && !requireOrigin) {
      // No Origin, yet the browser says another site sent it (W3C Fetch Metadata Request Headers,
      // Sec-Fetch-Site): a foreign page's no-cors request, with nothing the allowlist could admit.
      const site = request.headers['sec-fetch-site']
      if (site === 'cross-site' || site === 'same-site') {
        logRefusal(request, GATE_CODES.crossSite, `engine.io request without Origin refused: Sec-Fetch-Site says ${site}`)
        return { answer: crossSite }
      }
      return { answer: verdict.answer, grant: verdict.headers }
    }
    policy.logRefusal(log, request.headers.origin, decision, request)
    if (verdict.reported === true) return { answer: verdict.answer, grant: verdict.headers }
    if (!hasSessionId(url)) policy.countSocket('refused-origin')
    return { answer: verdict.answer ?? verdict.refusal ?? policy.refuse(decision, false) }
  }

  const logFailure = (request: IncomingMessage, error: unknown, kind: string): void => {
    log.error({ err: error, method: request.method, url: request.url }, `engine.io gate: the ${kind} listener threw; answered 500 or closed the connection`)
  }

  const appListeners = server.listeners('request') as RequestListener[]
  server.removeAllListeners('request')
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    try {
      const url = request.url as string // always set on a server's requests
      if (!url.startsWith(prefix)) {
        for (const listener of appListeners) listener.call(server, request, response)
        return
      }
      // Every outcome's headers carry Vary (the answers above, the policy's grants and refusals).
      const outcome = decide(request, url, false)
      // While a lookup runs, the request's body waits in its stream, unread, for engine.io.
      if (outcome instanceof Promise) outcome.then((settled) => { serveRequest(request, response, settled) }).catch((error: unknown) => { failRequest(request, response, error) })
      else serveRequest(request, response, outcome)
    } catch (error) {
      failRequest(request, response, error)
    }
  })

  const serveRequest = (request: IncomingMessage, response: ServerResponse, { answer, grant }: GateOutcome): void => {
    // Once shutdown began, every answer ends its HTTP/1 connection, as Fastify's routes do while closing
    // (fastify `lib/route.js`): the server's close reaps idle connections only, and a client retrying on
    // one that was busy then would keep it, and `app.close()`, open. HTTP/2 forbids the header (RFC 9113
    // §8.2.2): Node's compatibility API drops it with an UnsupportedWarning.
    if (closing && request.httpVersionMajor !== 2) response.setHeader('connection', 'close')
    if (answer !== undefined) {
      response.writeHead(answer.statusCode, answer.headers).end(answer.body)
      return
    }
    // Set before engine.io writes, so its own errors (400 "Session ID unknown") carry them too: a browser
    // reports an error response without them only as "access control checks" (WebKit `ThreadableLoader.cpp`).
    if (grant !== undefined) for (const name in grant) response.setHeader(name, grant[name])
    engine.handleRequest(request, response)
  }

  /** A throw in the request listener would be an uncaught exception of the whole process: answered 500 instead. */
  const failRequest = (request: IncomingMessage, response: ServerResponse, error: unknown): void => {
    logFailure(request, error, 'request')
    if (response.headersSent) {
      response.destroy()
      return
    }
    for (const name of response.getHeaderNames()) response.removeHeader(name)
    response.writeHead(failure.statusCode, failure.headers).end(failure.body)
  }

  server.on('upgrade', (request: IncomingMessage, socket: NetSocket, head: Buffer) => {
    try {
      const url = request.url as string
      if (!url.startsWith(prefix)) {
        if (!prefixes.some((other) => url.startsWith(other))) stray(socket)
        return
      }
      const outcome = decide(request, url, true)
      if (!(outcome instanceof Promise)) {
        serveUpgrade(request, socket, head, outcome)
        return
      }
      // Node hands an upgrade over with the socket not flowing and no listener of its own (node
      // `lib/_http_server.js` onParserExecuteCommon()): bytes the client sends meanwhile wait in the
      // socket's buffer for engine.io (`head` holds those that came with the request), and a reset
      // meanwhile would be an uncaught 'error' without this listener.
      socket.on('error', ignoreError)
      outcome.then((settled) => {
        socket.off('error', ignoreError)
        // A client that went away meanwhile has nothing left to answer.
        if (socket.destroyed) return
        serveUpgrade(request, socket, head, settled)
      }).catch((error: unknown) => { failUpgrade(request, socket, error) })
    } catch (error) {
      failUpgrade(request, socket, error)
    }
  })

  const serveUpgrade = (request: IncomingMessage, socket: NetSocket, head: Buffer, { answer }: GateOutcome): void => {
    if (answer === undefined) {
      upgrades.add(socket)
      engine.handleUpgrade(request, socket, head)
      return
    }
    refuseUpgrade(socket, answer)
  }

  const failUpgrade = (request: IncomingMessage, socket: NetSocket, error: unknown): void => {
    logFailure(request, error, 'upgrade')
    if (socket.bytesWritten === 0) refuseUpgrade(socket, failure)
    else socket.destroy()
  }

  /**
   * An upgrade outside the path belongs to whichever other `upgrade` listener answers it (another gate's
   * path is that gate's, however long its `verifyHandshake` takes). With none, it
   * is closed at once; otherwise it is closed if nothing was written to it within `destroyUpgradeTimeout`
   * (engine.io attach() does the same), or when shutdown begins, so that it can hold neither a socket
   * nor `app.close()`.
   */
  const stray = (socket: NetSocket): void => {
    if (server.listenerCount('upgrade') === 1) {
      socket.destroy()
      return
    }
    strays.add(socket)
    const timer = setTimeout(() => { cutUnanswered(socket) }, strayTimeout).unref()
    socket.once('close', () => { clearTimeout(timer) })
  }
  const cutUnanswered = (socket: NetSocket): void => { if (socket.bytesWritten === 0) socket.destroy() }

  // A handshake that passed the gate before shutdown began may still open a session (an async
  // verifyHandshake, a slow id generator): close it once every `connection` listener has seen it.
  engine.on('connection', (session: EngineSession) => {
    if (closing) process.nextTick(() => { session.close(true) })
  })

  // `listen({ host: 'localhost' })` also binds the other addresses of localhost, through extra servers
  // that get only Fastify's handler (fastify `lib/server.js` multipleBindings(); it forwards their
  // upgrades to the main server, but not their requests): send their requests through the gate too.
  fastify.addHook('onListen', async () => {
    for (const extra of extraServers) {
      extra.removeAllListeners('request')
      extra.on('request', (request: IncomingMessage, response: ServerResponse) => { server.emit('request', request, response) })
    }
  })

  return {
    upgrades,
    close: () => {
      closing = true
      for (const socket of strays.values()) cutUnanswered(socket)
    }
  }
}

function ignoreError (): void {}

function refuseUpgrade (socket: Duplex, answer: HttpAnswer): void {
  socket.on('error', () => {}) // the peer may reset first; nothing is left to tell it
  socket.end(rawHttpResponse(answer), () => socket.destroy())
}

/**
 * The extra servers Fastify listens with. No public API names them: Fastify keeps them in a list under
 * the symbol `fastify.serverBindings` (fastify `lib/symbols.js`), on the root instance. Looked up at
 * registration, so that a Fastify that stops keeping it fails loudly here instead of leaving them ungated.
 */
export function serverBindingsOf (instance: object): readonly HttpServer[] {
  for (let owner: object | null = instance; owner !== null; owner = Object.getPrototypeOf(owner) as object | null) {
    const key = Object.getOwnPropertySymbols(owner).find((symbol) => symbol.description === 'fastify.serverBindings')
    if (key !== undefined) return (owner as Record<symbol, HttpServer[]>)[key]!
  }
  throw new Error('fastify-cors-io: this Fastify version keeps no `fastify.serverBindings` list, so the servers of `listen({ host: \'localhost\' })` cannot be gated; listen on one address (e.g. host: \'127.0.0.1\' or \'::\')')
}

/**
 * engine.io takes every request under its prefix before Fastify routes it, so an app route there would
 * never run (and a `path` such as `/api/` would swallow the app's API). Routes added later are checked as
 * they are added; those added earlier, or in contexts this plugin's hooks do not reach, when the app is ready.
 */
function refuseRoutesUnder (fastify: FastifyInstance, prefix: string): void {
  const check = (url: string): void => {
    if (!url.startsWith(prefix)) return
    throw new CorsConfigError('path', `the route ${url} lies under the Socket.IO path ${prefix}, where engine.io answers every request before Fastify routes it`,
      `move the route out of ${prefix}, or give realtime another \`path\``)
  }
  fastify.addHook('onRoute', (route) => { check(route.url) })
  fastify.addHook('onReady', async () => { for (const url of routePathsOf(fastify.printRoutes())) check(url) })
}

/**
 * The paths of the routes in Fastify's `printRoutes()` tree (find-my-way `lib/pretty-print.js`): each line
 * is a node, indented four columns per level, whose path continues its parent's; a node with a route ends
 * in ` (METHODS)`. Lines without a node marker continue the node above (constraints).
 */
export function routePathsOf (tree: string): string[] {
  const stack: string[] = []
  const paths: string[] = []
  for (const line of tree.split('\n')) {
    const marker = line.indexOf('── ')
    if (marker === -1) continue
    const depth = (marker - 1) / 4
    const node = line.slice(marker + 3)
    const methods = node.indexOf(' (')
    const segment = methods === -1 ? node : node.slice(0, methods)
    const path = (stack[depth - 1] ?? '') + (segment === '(empty root node)' ? '' : segment)
    stack.length = depth
    stack.push(path)
    if (methods !== -1) paths.push(path)
  }
  return paths
}
