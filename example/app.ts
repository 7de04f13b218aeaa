import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyCookie from '@fastify/cookie'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyPluginOptions } from 'fastify'
import fp from 'fastify-plugin'
import { corsPolicy, realtime, type RealtimeOptions } from '../index.js'
import { readExampleConfig } from './config.js'
import { DemoJobs } from './jobs.js'
import { MetricsSampler } from './metrics.js'
import { originsPanel, refusedTotal } from './origins-panel.js'
import { AdminPresence } from './presence.js'
import { apiRoutes } from './routes/api.js'
import { authRoutes } from './routes/auth.js'
import { bindSessionSockets } from './session-sockets.js'
import { SESSION_COOKIE, SessionStore } from './sessions.js'
import './dashboard-events.js'

// The compiled app runs from dist/example/, but the page's files are not
// compiled, so they are served from the source folder.
const publicDir = fileURLToPath(new URL('../../example/public/', import.meta.url))
const socketIoClientDir = dirname(createRequire(import.meta.url).resolve('socket.io/package.json')) + '/client-dist'
// The page imports `fastify-cors-io/client` as served ES modules: the compiled client and the protocol
// table next to it (its relative import), and socket.io-client's ESM build under the import map's name.
const distDir = fileURLToPath(new URL('../', import.meta.url))

const METRICS_INTERVAL_MS = 1000

export interface ExampleOptions {
  /** Extra realtime options, e.g. the adapter of example/cluster-app.ts. */
  realtime?: Pick<RealtimeOptions, 'adapter' | 'adapterReady'>
}

/**
 * The example host app, started by `npm start` (fastify-cli). One origin policy
 * covers the JSON API and Socket.IO; admins watch the server live on /admin.
 * `options.realtime` comes from example/cluster-app.ts when the app runs as one
 * node of several; fastify-cli itself passes none.
 */
async function exampleApp (fastify: FastifyInstance, options: FastifyPluginOptions & ExampleOptions) {
  const config = readExampleConfig(process.env)
  // Ending a session (logout, expiry) disconnects its live sockets; they exist once realtime is registered.
  const sessions = new SessionStore({ ttlSeconds: config.sessionTtlSeconds, onEnd: (id, reason) => { endSessionSockets(id, reason) } })
  const presence = new AdminPresence()

  await fastify.register(fastifyCookie, { secret: config.cookieSecret })
  await fastify.register(corsPolicy, { origins: config.origins, credentials: true, refusal: config.refusal })
  await fastify.register(realtime, {
    ...options.realtime,
    authenticate: async (handshake) => {
      const sessionId = handshake.signedCookies[SESSION_COOKIE]
      const user = sessions.find(sessionId)
      return user === undefined ? undefined : { ...user, sessionId }
    },
    isAdmin: (user) => user.role === 'admin'
  })
  const endSessionSockets = bindSessionSockets([fastify.io.of('/'), fastify.dashboard.namespace])

  fastify.log.info({ origins: config.origins ?? process.env.CORS_ORIGINS }, 'origin allowlist')

  const metrics = new MetricsSampler({
    sockets: () => ({ connected: fastify.io.engine.clientsCount, dashboards: fastify.dashboard.namespace.sockets.size }),
    sessions: () => sessions.size,
    // Counts refusals of both plugins: API requests and Socket.IO requests and upgrades.
    refusedOrigins: () => refusedTotal(fastify.originPolicy.stats()),
    origins: () => originsPanel(fastify.originPolicy.stats())
  })
  const jobs = new DemoJobs((progress) => {
    fastify.dashboard.broadcast('job:progress', progress)
    if (progress.state === 'done') fastify.dashboard.alert({ level: 'info', message: `Demo job of ${progress.startedBy} done`, details: { jobId: progress.id } })
  }, { steps: 20, stepMs: 150 })

  fastify.dashboard.namespace.on('connection', (socket) => {
    const user = socket.data.user
    presence.add(user, socket.id)
    fastify.dashboard.publish('admins', presence.list())
    socket.on('disconnect', () => {
      presence.remove(user.id, socket.id)
      fastify.dashboard.publish('admins', presence.list())
    })
  })

  // A retained topic: a dashboard that opens shows the last sample at once, not after the next tick.
  const metricsTimer = setInterval(() => {
    fastify.dashboard.publish('metrics', metrics.snapshot())
    metrics.startWindow()
  }, METRICS_INTERVAL_MS)

  fastify.addHook('onClose', async () => {
    clearInterval(metricsTimer)
    jobs.stopAll()
    metrics.stop()
    sessions.close()
  })

  // The page's scripts are ES modules, fetched in CORS mode with an Origin even from the page's own
  // origin (HTML standard, "fetch a single module script"): served without CORS headers to a refused
  // origin instead of a 403, so a page opened under a refused name (an IP address) still runs and says so.
  await fastify.register(fastifyStatic, { root: publicDir, prefix: '/static/' })
  const asset = { config: { corsRefusal: 'omit-headers' as const } }
  fastify.get('/static/admin.js', asset, async (_request, reply) => reply.sendFile('admin.js'))
  fastify.get('/', async (_request, reply) => reply.redirect('/admin'))
  fastify.get('/admin', async (_request, reply) => reply.sendFile('admin.html'))
  fastify.get('/login', async (_request, reply) => reply.sendFile('login.html'))
  fastify.get('/vendor/socket.io.min.js', asset, async (_request, reply) => reply.sendFile('socket.io.min.js', socketIoClientDir))
  fastify.get('/vendor/socket.io.esm.min.js', asset, async (_request, reply) => reply.sendFile('socket.io.esm.min.js', socketIoClientDir))
  fastify.get('/vendor/fastify-cors-io/client/index.js', asset, async (_request, reply) => reply.sendFile('client/index.js', distDir))
  fastify.get('/vendor/fastify-cors-io/lib/protocol.js', asset, async (_request, reply) => reply.sendFile('lib/protocol.js', distDir))

  await fastify.register(authRoutes, { sessions })
  await fastify.register(apiRoutes, { sessions, jobs, metrics })
}

/**
 * Not encapsulated, so the CORS plugin's hooks see every request of the server:
 * a preflight for a route without an OPTIONS handler, or a request for a path
 * that does not exist, is answered by the server's root 404 handler, which runs
 * only root-level hooks.
 */
export default fp(exampleApp, { name: 'fastify-cors-io-example', fastify: '5.x' })
