import fastifyCookie from '@fastify/cookie'
import { Server as Engine } from 'engine.io'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Server } from 'socket.io'
import { OpenSet, type Closable } from '../lib/engine-http.js'
import { CorsConfigError } from '../lib/errors.js'
import { createDashboard } from './dashboard.js'
import { gateEngine } from './engine-gate.js'
import type { Dashboard, RealtimeNamespace, RealtimeOptions, RealtimeServer, RealtimeSocket } from './realtime-types.js'
import { adminMiddleware, authenticationMiddleware } from './socket-auth.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The Socket.IO server, typed by `DashboardEvents`, `ClientEvents` and `SocketUser`. */
    io: RealtimeServer
    /** Typed pushes to the admin dashboard namespace. */
    dashboard: Dashboard
  }
}

const OWNED_OPTIONS: Readonly<Record<string, string>> = {
  cors: 'CORS headers come from the corsPolicy plugin\'s options; remove `cors`',
  allowRequest: 'the origin check is built in; put your own handshake check in `verifyHandshake`',
  serveClient: 'serve `socket.io/client-dist/socket.io.min.js` as a static file instead',
  connectionStateRecovery: 'use `recoveryWindowMs`'
}

const realtimePlugin: FastifyPluginAsync<RealtimeOptions> = async (fastify, options) => {
  const { authenticate, isAdmin, requireOrigin = false, dashboardNamespace = '/admin', recoveryWindowMs = 120_000, verifyHandshake, cookiePlugin, shutdownGraceMs = 1000, ...serverOptions } = validate(fastify, options)
  if (!fastify.hasDecorator('parseCookie')) await fastify.register(fastifyCookie, cookiePlugin ?? {})

  const io: RealtimeServer = new Server({
    ...serverOptions,
    serveClient: false,
    connectionStateRecovery: recoveryWindowMs > 0 ? { maxDisconnectionDuration: recoveryWindowMs, skipMiddlewares: true } : undefined
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
    policy: fastify.originPolicy, engine, path: io.path(), addTrailingSlash: serverOptions.addTrailingSlash, destroyUpgradeTimeout: serverOptions.destroyUpgradeTimeout, requireOrigin, log: fastify.log
  })

  const namespaces = new Set<RealtimeNamespace>()
  const authenticateSocket = authenticationMiddleware(fastify, authenticate)
  const adopt = (namespace: RealtimeNamespace): void => {
    namespaces.add(namespace)
    namespace.use(authenticateSocket)
    logConnections(fastify, namespace)
  }
  adopt(io.of('/'))
  io.on('new_namespace', adopt)
  const dashboard = io.of(dashboardNamespace)
  dashboard.use(adminMiddleware(fastify, isAdmin))
  dashboard.on('connection', (socket) => { socket.join(`user:${socket.data.user.id}`) })

  fastify.decorate('io', io)
  fastify.decorate('dashboard', createDashboard(dashboard))
  const sessions = new OpenSet<Closable>()
  engine.on('connection', (session: Closable) => { sessions.add(session) })
  fastify.addHook('preClose', async () => {
    // Tell every socket (DISCONNECT packet) and let the clients close their connections, then cut the rest.
    // Closing engine.io sockets first instead would lose the packet of a polling client between two GETs
    // and leave engine.io's 30 s polling close timer running; a peer that ignores the close frame would
    // hold the HTTP server open for ws's 30 s close timeout.
    gate.close() // first: no new session or upgrade from here on
    const deadline = Date.now() + shutdownGraceMs
    for (const namespace of namespaces) namespace.disconnectSockets()
    await sessions.drained(deadline)
    engine.close()
    await gate.upgrades.drained(deadline)
    for (const socket of gate.upgrades.values()) socket.destroy()
  })
  fastify.addHook('onClose', async () => { await io.close() })
}

function validate (fastify: FastifyInstance, options: RealtimeOptions): RealtimeOptions {
  if (!fastify.hasDecorator('originPolicy')) {
    throw new CorsConfigError('realtime', 'needs the origin policy of the corsPolicy plugin, which is not registered',
      'register corsPolicy first: `await app.register(corsPolicy, { origins })`, then `await app.register(realtime, …)`')
  }
  for (const name of Object.keys(options)) {
    if (name in OWNED_OPTIONS) throw new CorsConfigError(name, 'is set by this plugin', OWNED_OPTIONS[name])
  }
  if (typeof options.authenticate !== 'function') {
    throw new CorsConfigError('authenticate', 'is required', 'pass `authenticate: async (handshake) => user | undefined`, e.g. reading handshake.signedCookies')
  }
  if (typeof options.isAdmin !== 'function') {
    throw new CorsConfigError('isAdmin', 'is required: without it nobody could be trusted with the dashboard', 'pass `isAdmin: (user) => user.role === \'admin\'`')
  }
  return options
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
