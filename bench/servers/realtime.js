// Realtime server under test, one variant per process (run with --expose-gc).
// Usage: node --expose-gc realtime.js <variant>
//   plain              socket.io attached to a Fastify server, namespace /admin, no origin check
//   plain-recovery     the same with connection-state recovery on, with the window and
//                      skipMiddlewares the plugin uses by default (120 s)
//   plugin             this library: corsPolicy + realtime (dashboard namespace /admin),
//                      default options (so connection-state recovery on, 120 s)
//   plugin-norecovery  the same with `recoveryWindowMs: 0` (recovery off)
//   plugin-redis       `plugin` as one node of several: @socket.io/redis-streams-adapter on the
//                      Redis at REDIS_URL, with `adapterReady` (the scale suite)
//   ws                 a raw `ws` WebSocketServer on the same Fastify server (path /ws)
// Commands (IPC): count, mem, burst, paced, cpuStart, cpuStop, cpuStopDetail.
import Fastify from 'fastify'
import { Server } from 'socket.io'
import { WebSocketServer } from 'ws'
import { setImmediate as yieldLoop, setTimeout as sleep } from 'node:timers/promises'
import { serve, cpuMeter, warmNextTick } from '../lib/proc.js'
import { loadPlugin, defaultOrigins } from '../lib/plugin.js'
import { nowMs } from '../lib/stats.js'

const variant = process.argv[2]
await warmNextTick()
// Every variant loads the library, registered only by the plugin variants, so that all server
// processes have the same code loaded (see servers/http.js).
const { mod, reason } = await loadPlugin()
const app = Fastify({ logger: false })
app.get('/hello', async () => ({ hello: 'world' }))

// the plugin's default recovery window (realtime's `recoveryWindowMs`)
const RECOVERY_WINDOW_MS = 120_000

let broadcast
let count
let recovery = false // whether socket.io's connection-state recovery is on (checked by the fan-out suite)
switch (variant) {
  case 'plain':
  case 'plain-recovery': {
    const io = new Server(app.server, variant === 'plain'
      ? {}
      : { connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_WINDOW_MS, skipMiddlewares: true } })
    const nsp = io.of('/admin')
    broadcast = (event, payload) => nsp.emit(event, payload)
    count = () => nsp.sockets.size
    recovery = Boolean(io.opts.connectionStateRecovery)
    app.addHook('onClose', async () => { io.close() })
    break
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
    await app.ready()
    broadcast = (event, payload) => app.dashboard.broadcast(event, payload)
    count = () => app.io.of('/admin').sockets.size
    recovery = Boolean(app.io.opts.connectionStateRecovery)
    break
  }
  case 'ws': {
    const wss = new WebSocketServer({ server: app.server, path: '/ws', perMessageDeflate: false })
    // the idiomatic loop: serialise once, send the same buffer to every open client
    broadcast = (event, payload) => {
      const data = Buffer.from(JSON.stringify([event, payload]))
      for (const c of wss.clients) if (c.readyState === 1) c.send(data, { binary: false })
    }
    count = () => wss.clients.size
    break
  }
  default:
    throw new Error(`unknown variant ${variant}`)
}

await app.listen({ host: '127.0.0.1', port: 0 })

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

// a small dashboard-like event; `bt` is the send time (ms, shared clock) for latency
const event = (seq) => ({ bt: nowMs(), seq, metric: 'requests', value: 1234.5, unit: 'req/s' })

let meter = null
serve({
  count: () => count(),
  async mem () {
    for (let i = 0; i < 3; i++) { global.gc(); await sleep(50) }
    return process.memoryUsage()
  },
  // as fast as the event loop allows: `chunk` broadcasts, then let I/O run
  async burst ({ events, chunk = 10 }) {
    const tStart = nowMs()
    for (let i = 0; i < events; i++) {
      broadcast('stats', event(i))
      if (i % chunk === chunk - 1) await yieldLoop()
    }
    return { tStart, tEnd: nowMs(), sent: events }
  },
  // `rate` broadcasts per second for `seconds`, on a drift-free schedule
  async paced ({ rate, seconds }) {
    const period = 1000 / rate
    const total = Math.round(rate * seconds)
    const tStart = nowMs()
    for (let i = 0; i < total; i++) {
      const due = tStart + i * period
      const wait = due - nowMs()
      if (wait > 1) await sleep(wait)
      broadcast('stats', event(i))
    }
    return { tStart, tEnd: nowMs(), sent: total }
  },
  cpuStart () { meter = cpuMeter() },
  cpuStop () { return meter ? meter().cpu : NaN },
  // CPU time in µs since cpuStart (with the fraction of one core), for a cost per delivered event
  cpuStopDetail () { return meter ? meter() : { cpu: NaN, cpuUs: NaN } }
}, { port: app.server.address().port, variant, recovery })
