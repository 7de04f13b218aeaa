// The realtime server variants the benchmarks compare, each on one Fastify app with a GET /hello route:
//   plain              socket.io attached to a Fastify server, namespace /admin, no origin check
//   plain-recovery     the same with connection-state recovery on, with the window and
//                      skipMiddlewares the plugin uses by default (120 s)
//   plugin             this library: corsPolicy + realtime (dashboard namespace /admin),
//                      default options (so connection-state recovery on, 120 s)
//   plugin-norecovery  the same with `recoveryWindowMs: 0` (recovery off)
//   plugin-redis       `plugin` as one node of several: @socket.io/redis-streams-adapter on the
//                      Redis at REDIS_URL, with `adapterReady` (the scale suite)
//   ws                 a raw `ws` WebSocketServer on the same Fastify server (path /ws)
import Fastify from 'fastify'
import { Server } from 'socket.io'
import { WebSocketServer } from 'ws'
import { loadPlugin, defaultOrigins } from './plugin.js'
import { warmNextTick } from './proc.js'

// the plugin's default recovery window (realtime's `recoveryWindowMs`)
const RECOVERY_WINDOW_MS = 120_000

/**
 * The app of `variant`, not yet listening (routes may still be added), with `broadcast(event, payload)` to every socket of
 * the namespace, `count()` of its sockets, and whether socket.io's connection-state recovery is on.
 */
export async function buildRealtimeApp (variant) {
  await warmNextTick()
  // Every variant loads the library, registered only by the plugin variants, so that all server
  // processes have the same code loaded (see lib/http-app.js).
  const { mod, reason } = await loadPlugin()
  const app = Fastify({ logger: false })
  app.get('/hello', async () => ({ hello: 'world' }))
  switch (variant) {
    case 'plain':
    case 'plain-recovery': {
      const io = new Server(app.server, variant === 'plain'
        ? {}
        : { connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_WINDOW_MS, skipMiddlewares: true } })
      const nsp = io.of('/admin')
      app.addHook('onClose', async () => { io.close() })
      return { app, broadcast: (event, payload) => nsp.emit(event, payload), count: () => nsp.sockets.size, recovery: Boolean(io.opts.connectionStateRecovery) }
    }
    case 'plugin':
    case 'plugin-norecovery':
    case 'plugin-redis': {
      if (!mod) throw new Error(reason)
      await app.register(mod.corsPolicy, { origins: defaultOrigins(), credentials: true, maxAge: 600 })
      await app.register(mod.realtime, {
        authenticate: async () => ({ id: 'u1' }),
        isAdmin: () => true,
        ...(variant === 'plugin-norecovery' ? { recoveryWindowMs: 0 } : {}),
        ...(variant === 'plugin-redis' ? await redisCluster(app) : {})
      })
      return { app, broadcast: (event, payload) => app.dashboard.broadcast(event, payload), count: () => app.io.of('/admin').sockets.size, recovery: Boolean(app.io.opts.connectionStateRecovery) }
    }
    case 'ws': {
      const wss = new WebSocketServer({ server: app.server, path: '/ws', perMessageDeflate: false })
      // the idiomatic loop: serialise once, send the same buffer to every open client
      const broadcast = (event, payload) => {
        const data = Buffer.from(JSON.stringify([event, payload]))
        for (const c of wss.clients) if (c.readyState === 1) c.send(data, { binary: false })
      }
      return { app, broadcast, count: () => wss.clients.size, recovery: false }
    }
    default:
      throw new Error(`unknown variant ${variant}`)
  }
}

/** The realtime options of one node on the Redis at REDIS_URL; the client is closed with the app. */
async function redisCluster (fastify) {
  const { createClient } = await import('redis')
  const { createAdapter } = await import('@socket.io/redis-streams-adapter')
  const redis = createClient({ url: process.env.REDIS_URL })
  redis.on('error', () => {})
  await redis.connect()
  fastify.addHook('onClose', async () => { await redis.close() })
  return { adapter: createAdapter(redis), adapterReady: () => redis.isReady }
}
