import { Server as Engine, type Socket as EngineSession, type Transport as EngineTransport } from 'engine.io'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Server } from 'socket.io'
import { OpenSet } from '../lib/engine-http.js'
import { CorsConfigError } from '../lib/errors.js'
import { ClusterLink, restoresSessions } from './cluster-link.js'
import { createDashboard } from './dashboard.js'
import { cookieReader, ownCookieReader, type CookieReader } from './handshake-cookies.js'
import { gateEngine } from './engine-gate.js'
import { pendingClose } from './polling-close.js'
import { revokeRefusedSockets } from './origin-revocation.js'
import { logOriginRisks, originCheck, validate, type Resolved } from './realtime-options.js'
import { RecoveryAdapter } from './recovery-adapter.js'
import type { Dashboard, RealtimeHealth, RealtimeNamespace, RealtimeOptions, RealtimeServer, RealtimeSocket } from './realtime-types.js'
import { socketGuard } from './socket-auth.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The Socket.IO server, typed by `DashboardEvents`, `ClientEvents` and `SocketUser`. */
    io: RealtimeServer
    /** Typed pushes to the admin dashboard namespace. */
    dashboard: Dashboard
    /** Whether this node reaches the others (`adapterReady`); for a readiness probe. */
    realtimeHealth: () => RealtimeHealth
  }
}

const realtimePlugin: FastifyPluginAsync<RealtimeOptions> = async (fastify, options) => {
  const { resolved, enginePrefix, originWarnings } = validate(fastify, options)
  const {
    authenticate, isAdmin, requireOrigin, allowAnyOrigin, dashboardNamespace, recoveryWindowMs, verifyHandshake, cookiePlugin,
    shutdownGraceMs, maxNamespacesPerConnection, adapterReady, presenceTimeoutMs, topicRateHz, topicRates, maxTopics, alertBacklog, prefix, logLevel, logSerializers, ...serverOptions
  } = resolved as Resolved & Record<'prefix' | 'logLevel' | 'logSerializers', unknown>
  const policy = fastify.originPolicy
  const recovery = recoveryWindowMs > 0
  logOriginRisks(fastify, originWarnings)
  // The same check as at start-up, on every update of the shared policy.
  policy.addCheck(originCheck(allowAnyOrigin))
  // Chosen once every plugin is in, so that @fastify/cookie may be registered before or after realtime.
  const ownCookies = fastify.hasDecorator('parseCookie') ? undefined : await ownCookieReader(fastify, cookiePlugin)
  let cookies: CookieReader | undefined
  fastify.addHook('onReady', async () => { cookies = cookieReader(fastify, ownCookies, options.cookiePlugin !== undefined) })

  if (adapterReady !== undefined && serverOptions.adapter === undefined) {
    throw new CorsConfigError('adapterReady', 'watches the connection of an `adapter`, and none is given', 'pass the adapter too, e.g. `adapter: createAdapter(redis), adapterReady: () => redis.isReady`, or remove adapterReady')
  }
  const link = adapterReady === undefined ? undefined : new ClusterLink(adapterReady, fastify.log)
  fastify.addHook('onClose', async () => { link?.close() })
  const io: RealtimeServer = new Server({
    ...serverOptions,
    adapter: serverOptions.adapter === undefined ? (recovery ? RecoveryAdapter : undefined) : link?.wrap(serverOptions.adapter) ?? serverOptions.adapter,
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
  if (recovery && !restoresSessions(io.of('/').adapter)) {
    fastify.log.warn({ plugin: 'fastify-cors-io:realtime' }, 'recoveryWindowMs is on, but the adapter cannot restore sessions (it has no persistSession/restoreSession of its own, like the pub/sub @socket.io/redis-adapter): dropped clients lose what they missed; use @socket.io/redis-streams-adapter, or set recoveryWindowMs: 0')
  }
  const gate = gateEngine(fastify, {
    policy, engine, prefix: enginePrefix, destroyUpgradeTimeout: serverOptions.destroyUpgradeTimeout, requireOrigin, log: fastify.log
  })

  const guard = socketGuard(fastify, { authenticate, isAdmin, dashboardNamespace, maxNamespacesPerConnection, recovery, count: (outcome) => { policy.countSocket(outcome) }, cookies: () => cookies! })
  const storeSessions = link !== undefined && recovery && restoresSessions(io.of('/').adapter)
    ? link.storeSessions(() => io._nsps.values(), recoveryWindowMs)
    : undefined
  const adopt = (namespace: RealtimeNamespace): void => {
    guard(namespace)
    logConnections(fastify, namespace)
    storeSessions?.(namespace)
  }
  const stopRevoking = policy.onUpdate(() => { revokeRefusedSockets(io, policy, requireOrigin, fastify.log) })
  adopt(io.of('/'))
  io.on('new_namespace', adopt)
  const dashboard = io.of(dashboardNamespace)
  dashboard.on('connection', (socket) => { socket.join(`user:${socket.data.user.id}`) })

  fastify.decorate('io', io)
  const rates = new Map(Object.entries(topicRates as Record<string, number>))
  const topics = createDashboard(dashboard, { presenceTimeoutMs, link, log: fastify.log, topicIntervalMs: (topic) => 1000 / (rates.get(topic) ?? topicRateHz), maxTopics, alertBacklog })
  fastify.decorate('dashboard', topics.dashboard)
  const inMemory: RealtimeHealth = Object.freeze({ status: 'ok', adapter: 'in-memory' })
  fastify.decorate('realtimeHealth', () => link?.health() ?? inMemory)
  /** Transports of closed sessions whose close still waits for a poll (see `pendingClose`). */
  const closingTransports = new OpenSet<EngineTransport>()
  // Listeners shared by every session (EventEmitter passes the session as `this`), not a closure each.
  function keepClosingTransport (this: EngineSession): void {
    if (pendingClose(this.transport) !== undefined) closingTransports.add(this.transport)
  }
  function stopWatchingClose (this: EngineSession): void {
    this.off('close', keepClosingTransport)
    this.off('upgrade', stopWatchingClose)
  }
  engine.on('connection', (session: EngineSession) => {
    // Only a polling transport's close can wait for a poll (see `pendingClose`): a WebSocket session,
    // and a polling one once upgraded, is not watched. A listener more on each idle session would grow
    // its `close` listener array (about 150 bytes a socket, bench/ "memory per idle socket").
    if (session.transport.name !== 'polling') return
    session.on('close', keepClosingTransport)
    session.on('upgrade', stopWatchingClose)
  })
  fastify.addHook('preClose', async () => {
    // Tell every socket (DISCONNECT packet) and let the clients close their connections, then cut the rest.
    // Closing engine.io sockets first instead would lose the packet of a polling client between two GETs
    // and put each polling session without a pending poll on engine.io's 30 s close timer; a peer that ignores the close frame would
    // hold the HTTP server open for ws's 30 s close timeout.
    gate.close() // first: no new session or upgrade from here on
    topics.close()
    const deadline = Date.now() + shutdownGraceMs
    // `.local`: through a cluster adapter, `disconnectSockets()` would disconnect the clients of every
    // node (socket.io-adapter `dist/cluster-adapter.js` `disconnectSockets()` publishes it).
    // The open sessions, tracked from now on only: engine.io keeps them anyway (`clients`, public in its
    // README, protected in its types), and a set of our own would cost every idle connection an entry.
    const sessions = new OpenSet<EngineSession>()
    for (const session of Object.values((engine as unknown as { clients: Record<string, EngineSession> }).clients)) sessions.add(session)
    for (const namespace of io._nsps.values()) namespace.local.disconnectSockets()
    await sessions.drained(deadline)
    engine.close()
    await gate.upgrades.drained(deadline)
    for (const socket of gate.upgrades.values()) socket.destroy()
    // No poll comes any more: end every close still waiting for one, so no engine.io timer outlives app.close().
    for (const transport of [...sessions.values().map((session) => session.transport), ...closingTransports.values()]) pendingClose(transport)?.()
  })
  fastify.addHook('onClose', async () => {
    stopRevoking()
    await io.close()
  })
}

function logConnections (fastify: FastifyInstance, namespace: RealtimeNamespace): void {
  // One listener shared by every socket of the namespace (EventEmitter passes the socket as `this`),
  // rather than a closure per connection.
  function logDisconnect (this: RealtimeSocket, reason: string): void {
    fastify.log.info({ namespace: namespace.name, socketId: this.id, userId: this.data.user.id, reason }, 'socket disconnected')
  }
  namespace.on('connection', (socket) => {
    fastify.originPolicy.countSocket(socket.recovered ? 'recovered' : 'connected')
    fastify.log.info({ namespace: namespace.name, socketId: socket.id, userId: socket.data.user.id, transport: socket.conn.transport.name, recovered: socket.recovered }, 'socket connected')
    socket.on('disconnect', logDisconnect)
  })
}

/** Socket.IO on the host app's server, behind the same origin policy as its HTTP routes (see docs/realtime.md). */
export const realtime = fp(realtimePlugin, { name: 'fastify-cors-io:realtime', fastify: '5.x' })
