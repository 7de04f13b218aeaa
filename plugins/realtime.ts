import fastifyCookie from '@fastify/cookie'
import { Server as Engine } from 'engine.io'
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { Server } from 'socket.io'
import { CorsConfigError } from '../lib/errors.js'
import { createDashboard } from './dashboard.js'
import { gateEngine } from './engine-gate.js'
import type { Dashboard, RealtimeNamespace, RealtimeOptions, RealtimeServer } from './realtime-types.js'
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
  const { authenticate, isAdmin, requireOrigin = false, dashboardNamespace = '/admin', recoveryWindowMs = 120_000, verifyHandshake, cookiePlugin, ...serverOptions } = validate(fastify, options)
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
  gateEngine(fastify.server, { policy: fastify.originPolicy, engine, path: io.path(), requireOrigin, log: fastify.log })

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
  fastify.addHook('preClose', (done) => {
    for (const namespace of namespaces) namespace.disconnectSockets(true)
    done()
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
  namespace.on('connection', (socket) => {
    const details = { namespace: namespace.name, socketId: socket.id, userId: socket.data.user.id }
    fastify.log.info({ ...details, transport: socket.conn.transport.name, recovered: socket.recovered }, 'socket connected')
    socket.on('disconnect', (reason) => { fastify.log.info({ ...details, reason }, 'socket disconnected') })
  })
}

/** Socket.IO on the host app's server, behind the same origin policy as its HTTP routes (see docs/realtime.md). */
export const realtime = fp(realtimePlugin, { name: 'fastify-cors-io:realtime', fastify: '5.x' })
