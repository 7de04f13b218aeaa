import { createRequire } from 'node:module'
import fastifyCookie, { type FastifyCookieOptions } from '@fastify/cookie'
import { Server as Engine, type Socket as EngineSession, type Transport as EngineTransport } from 'engine.io'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Server } from 'socket.io'
import { OpenSet } from '../lib/engine-http.js'
import { closestName } from '../lib/closest-name.js'
import { cookieWarnings, refuseEntriesAnySiteCanUse } from '../lib/config.js'
import { CorsConfigError } from '../lib/errors.js'
import type { OriginPolicy } from '../lib/origin-policy.js'
import { createDashboard } from './dashboard.js'
import { gateEngine, gatePrefix } from './engine-gate.js'
import type { Dashboard, RealtimeNamespace, RealtimeOptions, RealtimeServer, RealtimeSocket } from './realtime-types.js'
import { socketGuard } from './socket-auth.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The Socket.IO server, typed by `DashboardEvents`, `ClientEvents` and `SocketUser`. */
    io: RealtimeServer
    /** Typed pushes to the admin dashboard namespace. */
    dashboard: Dashboard
  }
}

/**
 * Every option of the plugin with a default, in one place (the docs' options table follows it).
 * `cleanupEmptyChildNamespaces` is socket.io's, on here: a child of a dynamic namespace whose CONNECT
 * was refused would otherwise stay in memory for good.
 */
const defaultOptions = Object.freeze({
  requireOrigin: false,
  allowAnyOrigin: false,
  dashboardNamespace: '/admin',
  recoveryWindowMs: 120_000,
  shutdownGraceMs: 1000,
  maxNamespacesPerConnection: 5,
  cleanupEmptyChildNamespaces: true,
  cookiePlugin: Object.freeze({}) as FastifyCookieOptions
})

const OWNED_OPTIONS: Readonly<Record<string, string>> = {
  cors: 'CORS headers come from the corsPolicy plugin\'s options; remove `cors`',
  allowRequest: 'the origin check is built in; put your own handshake check in `verifyHandshake`',
  serveClient: 'serve `socket.io/client-dist/socket.io.min.js` as a static file instead',
  connectionStateRecovery: 'use `recoveryWindowMs`'
}
const PLUGIN_OPTIONS = ['authenticate', 'isAdmin', 'verifyHandshake', ...Object.keys(defaultOptions)]
/**
 * socket.io and engine.io server options passed through as they are: the names of socket.io
 * `dist/index.d.ts` `ServerOptions` and engine.io `build/server.d.ts` `ServerOptions`/`AttachOptions`.
 */
const SERVER_OPTIONS = ['path', 'adapter', 'parser', 'connectTimeout', 'pingTimeout', 'pingInterval', 'upgradeTimeout',
  'maxHttpBufferSize', 'httpRequestBodyTimeout', 'transports', 'allowUpgrades', 'perMessageDeflate', 'httpCompression',
  'maxBufferedChunks', 'wsEngine', 'initialPacket', 'cookie', 'allowEIO3', 'destroyUpgrade', 'destroyUpgradeTimeout', 'addTrailingSlash']
/** Fastify's own `register()` options reach the plugin too; they are not ours to refuse. */
const REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers'])
const KNOWN_OPTIONS = new Set([...PLUGIN_OPTIONS, ...SERVER_OPTIONS, ...REGISTER_OPTIONS])
/** Server options in ms: Node's timers fire at once beyond 2^31 − 1 ms. */
const SERVER_DURATIONS = ['connectTimeout', 'pingTimeout', 'pingInterval', 'upgradeTimeout', 'httpRequestBodyTimeout', 'destroyUpgradeTimeout']
const MAX_TIMER_MS = 2 ** 31 - 1
const DAY_MS = 24 * 60 * 60 * 1000

type Resolved = RealtimeOptions & Required<Pick<RealtimeOptions, keyof typeof defaultOptions>>

// socket.io's own copy of socket.io-adapter, wherever the package manager put it.
const { SessionAwareAdapter } = createRequire(createRequire(import.meta.url).resolve('socket.io'))('socket.io-adapter') as typeof import('socket.io-adapter')
const cleanupTimers = new WeakMap<object, NodeJS.Timeout>()

/**
 * The recovery adapter socket.io uses by default, minus a leak: socket.io-adapter's SessionAwareAdapter
 * (`dist/in-memory-adapter.js`) starts a cleanup interval per namespace that its close() (the base
 * class's no-op) never clears, so every child namespace ever created stays reachable from its timer
 * after socket.io dropped it. This one keeps the interval and clears it on close().
 */
class RecoveryAdapter extends SessionAwareAdapter {
  constructor (namespace: ConstructorParameters<typeof SessionAwareAdapter>[0]) {
    const { setInterval } = globalThis
    let timer: NodeJS.Timeout | undefined
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => (timer = setInterval(...args))) as typeof setInterval
    try {
      super(namespace)
    } finally {
      globalThis.setInterval = setInterval
    }
    cleanupTimers.set(this, timer!)
  }

  override close (): void {
    clearInterval(cleanupTimers.get(this))
    super.close()
  }
}

const realtimePlugin: FastifyPluginAsync<RealtimeOptions> = async (fastify, options) => {
  const { resolved, enginePrefix } = validate(fastify, options)
  const {
    authenticate, isAdmin, requireOrigin, allowAnyOrigin, dashboardNamespace, recoveryWindowMs, verifyHandshake, cookiePlugin,
    shutdownGraceMs, maxNamespacesPerConnection, prefix, logLevel, logSerializers, ...serverOptions
  } = resolved as Resolved & Record<'prefix' | 'logLevel' | 'logSerializers', unknown>
  const policy = fastify.originPolicy
  const recovery = recoveryWindowMs > 0
  logOriginRisks(fastify, policy, allowAnyOrigin)
  if (!fastify.hasDecorator('parseCookie')) await fastify.register(fastifyCookie, { ...cookiePlugin })

  const io: RealtimeServer = new Server({
    ...serverOptions,
    adapter: serverOptions.adapter ?? (recovery ? RecoveryAdapter : undefined),
    serveClient: false,
    // Middlewares run on recovery too: socket.io's default (`skipMiddlewares: true`, socket.io
    // `dist/index.js`) would let a recovered socket skip every `use()` of the host app.
    connectionStateRecovery: recovery ? { maxDisconnectionDuration: recoveryWindowMs, skipMiddlewares: false } : undefined
  })
  const engine = new Engine({
    ...serverOptions,
    allowRequest: verifyHandshake === undefined
      ? undefined
      : (request, callback) => {
          Promise.resolve().then(() => verifyHandshake(request)).then((ok) => callback(null, ok), (error: unknown) => {
            fastify.log.error({ err: error }, 'verifyHandshake threw; handshake refused')
            callback(null, false)
          })
        }
  })
  io.bind(engine)
  const gate = gateEngine(fastify, {
    policy: fastify.originPolicy, engine, prefix: enginePrefix, destroyUpgradeTimeout: serverOptions.destroyUpgradeTimeout, requireOrigin, log: fastify.log
  })

  const guard = socketGuard(fastify, { authenticate, isAdmin, dashboardNamespace, maxNamespacesPerConnection, recovery })
  const adopt = (namespace: RealtimeNamespace): void => {
    guard(namespace)
    logConnections(fastify, namespace)
  }
  adopt(io.of('/'))
  io.on('new_namespace', adopt)
  const dashboard = io.of(dashboardNamespace)
  dashboard.on('connection', (socket) => { socket.join(`user:${socket.data.user.id}`) })

  fastify.decorate('io', io)
  fastify.decorate('dashboard', createDashboard(dashboard))
  const sessions = new OpenSet<EngineSession>()
  /** Transports of closed sessions whose close still waits for a poll (see `pendingClose`). */
  const closingTransports = new OpenSet<EngineTransport>()
  // One listener for every session (EventEmitter passes the session as `this`), not a closure each.
  function keepClosingTransport (this: EngineSession): void {
    if (pendingClose(this.transport) !== undefined) closingTransports.add(this.transport)
  }
  engine.on('connection', (session: EngineSession) => {
    sessions.add(session)
    session.once('close', keepClosingTransport)
  })
  fastify.addHook('preClose', async () => {
    // Tell every socket (DISCONNECT packet) and let the clients close their connections, then cut the rest.
    // Closing engine.io sockets first instead would lose the packet of a polling client between two GETs
    // and put each polling session without a pending poll on engine.io's 30 s close timer; a peer that ignores the close frame would
    // hold the HTTP server open for ws's 30 s close timeout.
    gate.close() // first: no new session or upgrade from here on
    const deadline = Date.now() + shutdownGraceMs
    for (const namespace of io._nsps.values()) namespace.disconnectSockets()
    await sessions.drained(deadline)
    engine.close()
    await gate.upgrades.drained(deadline)
    for (const socket of gate.upgrades.values()) socket.destroy()
    // No poll comes any more: end every close still waiting for one, so no engine.io timer outlives app.close().
    for (const transport of [...sessions.values().map((session) => session.transport), ...closingTransports.values()]) pendingClose(transport)?.()
  })
  fastify.addHook('onClose', async () => { await io.close() })
}

/** The private close state of an engine.io polling transport (engine.io `build/transports/polling.js`). */
interface PollingClose { shouldClose?: (() => void) | null }

/**
 * The close a polling transport is waiting to finish, as a function that finishes it now. engine.io's
 * polling `doClose()` with no poll pending keeps the close (`shouldClose`) for the next poll, or for a
 * 30 s timer; neither a later `close(true)` (`Transport.close()` returns while closing) nor the session's
 * own close (socket `clearTransport()` only asks the transport to close) cuts that short. Finishing it
 * is what the next poll would do (polling `send()`), minus the close packet: the timer is cleared and
 * the session and transport close.
 */
function pendingClose (transport: EngineTransport): (() => void) | undefined {
  const polling = transport as unknown as PollingClose
  const finish = polling.shouldClose
  if (typeof finish !== 'function') return undefined
  return () => {
    polling.shouldClose = null
    finish()
  }
}

/** Checks every option before the plugin has any effect; returns them over the defaults, and the URL prefix to gate. */
function validate (fastify: FastifyInstance, options: RealtimeOptions): { resolved: Resolved, enginePrefix: string } {
  if (!fastify.hasDecorator('originPolicy')) {
    throw new CorsConfigError('realtime', 'needs the origin policy of the corsPolicy plugin, which is not registered',
      'register corsPolicy first: `await app.register(corsPolicy, { origins })`, then `await app.register(realtime, …)`')
  }
  if (fastify.hasDecorator('io') || fastify.hasDecorator('dashboard')) {
    throw new CorsConfigError('realtime', 'is already registered on this instance (`fastify.io` exists): a second Socket.IO server cannot share its HTTP server',
      'register realtime once, and add namespaces with `app.io.of(name)`')
  }
  for (const name of Object.keys(options)) {
    if (name in OWNED_OPTIONS) throw new CorsConfigError(name, 'is set by this plugin', OWNED_OPTIONS[name]!)
    if (!KNOWN_OPTIONS.has(name)) {
      const closest = closestName(name, [...PLUGIN_OPTIONS, ...SERVER_OPTIONS])
      throw new CorsConfigError(name, 'is not an option of realtime nor of socket.io/engine.io', closest === undefined
        ? `remove it; the options are ${PLUGIN_OPTIONS.join(', ')} and socket.io's ${SERVER_OPTIONS.join(', ')}`
        : `did you mean \`${closest}\`?`)
    }
  }
  const resolved = { ...defaultOptions, ...withoutUndefined(options) } as Resolved
  expectFunction('authenticate', resolved.authenticate, 'is required', 'pass `authenticate: async (handshake) => user | undefined`, e.g. reading handshake.signedCookies')
  expectFunction('isAdmin', resolved.isAdmin, 'is required: without it nobody could be trusted with the dashboard', 'pass `isAdmin: (user) => user.role === \'admin\'`')
  if (resolved.verifyHandshake !== undefined) expectFunction('verifyHandshake', resolved.verifyHandshake, 'is not a function', 'pass `verifyHandshake: (request) => boolean`, or leave it out')
  for (const name of ['requireOrigin', 'allowAnyOrigin', 'cleanupEmptyChildNamespaces'] as const) {
    if (typeof resolved[name] !== 'boolean') throw new CorsConfigError(name, `${describe(resolved[name])} is not a boolean`, 'pass true or false')
  }
  if (typeof resolved.dashboardNamespace !== 'string' || !resolved.dashboardNamespace.startsWith('/')) {
    throw new CorsConfigError('dashboardNamespace', `${describe(resolved.dashboardNamespace)} is not a namespace name`, 'pass a string starting with "/", e.g. "/admin"')
  }
  if (typeof resolved.cookiePlugin !== 'object' || resolved.cookiePlugin === null) {
    throw new CorsConfigError('cookiePlugin', `${describe(resolved.cookiePlugin)} is not an options object`, 'pass @fastify/cookie options such as `{ secret }`')
  }
  expectInteger('recoveryWindowMs', resolved.recoveryWindowMs, 0, DAY_MS, 'e.g. 120000 (2 minutes); 0 turns recovery off')
  expectInteger('shutdownGraceMs', resolved.shutdownGraceMs, 0, 60_000, 'e.g. 1000')
  expectInteger('maxNamespacesPerConnection', resolved.maxNamespacesPerConnection, 1, 1000, 'e.g. 5, one more than the namespaces one client joins')
  for (const name of SERVER_DURATIONS) {
    const value = (resolved as unknown as Record<string, unknown>)[name]
    if (value !== undefined) expectInteger(name, value, 1, MAX_TIMER_MS, 'a whole number of milliseconds, e.g. 20000')
  }
  if (resolved.maxHttpBufferSize !== undefined) expectInteger('maxHttpBufferSize', resolved.maxHttpBufferSize, 1, Number.MAX_SAFE_INTEGER, 'a whole number of bytes, e.g. 1e6')
  // engine.io `attach()` with `destroyUpgrade: false` leaves an upgrade outside its path open for good if no
  // other listener answers it; the HTTP server's timeouts no longer apply to a socket handed to `upgrade`
  // listeners (Node `lib/_http_server.js` `onParserExecuteCommon()` removes its timeout listener and frees
  // the parser first), so each such upgrade would hold a socket until the peer leaves.
  if (resolved.destroyUpgrade !== undefined && resolved.destroyUpgrade !== true) {
    throw new CorsConfigError('destroyUpgrade', `${describe(resolved.destroyUpgrade)} is refused: upgrades outside the Socket.IO path that no listener answers would stay open for good, each holding a socket`,
      `remove destroyUpgrade; if another upgrade listener needs longer to answer, raise \`destroyUpgradeTimeout\` (ms, up to ${MAX_TIMER_MS})`)
  }
  const enginePrefix = gatePrefix(fastify.server, resolved.path, resolved.addTrailingSlash)
  if (fastify.originPolicy.config.allowlist.any !== resolved.allowAnyOrigin) {
    throw resolved.allowAnyOrigin
      ? new CorsConfigError('allowAnyOrigin', 'is set, but the origins of corsPolicy are not "*"', 'remove allowAnyOrigin')
      : new CorsConfigError('origins', '"*" with the realtime plugin: browsers send cookies on every WebSocket upgrade whatever CORS says, so any site could open a socket as your signed-in user',
        'list the origins you trust in corsPolicy; or, if no socket is authenticated by cookies, pass `allowAnyOrigin: true` to realtime')
  }
  refuseEntriesAnySiteCanUse(fastify.originPolicy.config.allowlist, 'with the realtime plugin (browsers send cookies on every WebSocket upgrade whatever CORS says)')
  return { resolved, enginePrefix }
}

/** Logs the risks of the allowlist for cookie-authenticated sockets, skipping what corsPolicy already logged. */
function logOriginRisks (fastify: FastifyInstance, policy: OriginPolicy, allowAnyOrigin: boolean): void {
  if (allowAnyOrigin) {
    fastify.log.warn({ plugin: 'fastify-cors-io:realtime' }, 'allowAnyOrigin: any site can open a socket to this server, and browsers send the user\'s cookies with WebSocket upgrades; authenticate sockets by a token in `auth`, never by cookies')
  }
  for (const warning of cookieWarnings(policy.config.allowlist)) {
    if (!policy.config.warnings.includes(warning)) fastify.log.warn({ plugin: 'fastify-cors-io:realtime' }, `WebSocket upgrades carry cookies whatever CORS says: ${warning}`)
  }
}

function expectFunction (setting: string, value: unknown, problem: string, fix: string): void {
  if (typeof value !== 'function') throw new CorsConfigError(setting, problem, fix)
}

function expectInteger (setting: string, value: unknown, min: number, max: number, fix: string): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new CorsConfigError(setting, `${describe(value)} is not a whole number from ${min} to ${max}`, `use ${fix}`)
  }
}

function withoutUndefined (options: RealtimeOptions): Partial<RealtimeOptions> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<RealtimeOptions>
}

function describe (value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}

function logConnections (fastify: FastifyInstance, namespace: RealtimeNamespace): void {
  // One listener shared by every socket of the namespace (EventEmitter passes the socket as `this`),
  // rather than a closure per connection.
  function logDisconnect (this: RealtimeSocket, reason: string): void {
    fastify.log.info({ namespace: namespace.name, socketId: this.id, userId: this.data.user.id, reason }, 'socket disconnected')
  }
  namespace.on('connection', (socket) => {
    fastify.log.info({ namespace: namespace.name, socketId: socket.id, userId: socket.data.user.id, transport: socket.conn.transport.name, recovered: socket.recovered }, 'socket connected')
    socket.on('disconnect', logDisconnect)
  })
}

/** Socket.IO on the host app's server, behind the same origin policy as its HTTP routes (see docs/realtime.md). */
export const realtime = fp(realtimePlugin, { name: 'fastify-cors-io:realtime', fastify: '5.x' })
