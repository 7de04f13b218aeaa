import fastifyCookie from '@fastify/cookie'
import { Server as Engine, type Socket as EngineSession, type Transport as EngineTransport } from 'engine.io'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Server } from 'socket.io'
import { OpenSet } from '../lib/engine-http.js'
import { createDashboard } from './dashboard.js'
import { gateEngine } from './engine-gate.js'
import { pendingClose } from './polling-close.js'
import { logOriginRisks, validate, type Resolved } from './realtime-options.js'
import { RecoveryAdapter } from './recovery-adapter.js'
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

const realtimePlugin: FastifyPluginAsync<RealtimeOptions> = async (fastify, options) => {
  const { resolved, enginePrefix } = validate(fastify, options)
  const {
    authenticate, isAdmin, requireOrigin, allowAnyOrigin, dashboardNamespace, recoveryWindowMs, verifyHandshake, cookiePlugin,
    shutdownGraceMs, maxNamespacesPerConnection, topicRateHz, topicRates, maxTopics, alertBacklog, prefix, logLevel, logSerializers, ...serverOptions
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
  const rates = new Map(Object.entries(topicRates as Record<string, number>))
  const topics = createDashboard(dashboard, { topicIntervalMs: (topic) => 1000 / (rates.get(topic) ?? topicRateHz), maxTopics, alertBacklog })
  fastify.decorate('dashboard', topics.dashboard)
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
    topics.close()
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
