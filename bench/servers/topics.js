// Live-topics server under test, one variant per process.
// Usage: node topics.js <variant>
//   publish    fastify.dashboard.publish(): each topic coalesced to topicRateHz (10) per client
//   broadcast  fastify.dashboard.broadcast() of every update (what a producer without publish does)
// Both with recoveryWindowMs: 0, so neither pays for storing packets. Commands (IPC): count, produce.
import Fastify from 'fastify'
import { setTimeout as sleep } from 'node:timers/promises'
import { serve, cpuMeter, warmNextTick } from '../lib/proc.js'
import { loadPlugin, defaultOrigins } from '../lib/plugin.js'

const variant = process.argv[2]
await warmNextTick()
const { mod, reason } = await loadPlugin()
if (!mod) throw new Error(reason)
const app = Fastify({ logger: false })
await app.register(mod.corsPolicy, { origins: defaultOrigins(), credentials: true })
await app.register(mod.realtime, { authenticate: async () => ({ id: 'u1' }), isAdmin: () => true, recoveryWindowMs: 0, topicRateHz: 10 })
await app.ready()

// Frames and bytes engine.io writes to the clients (one `packetCreate` per frame of each session).
let frames = 0
let bytes = 0
app.io.engine.on('connection', (session) => {
  session.on('packetCreate', (packet) => {
    frames++
    bytes += typeof packet.data === 'string' ? packet.data.length : packet.data?.byteLength ?? 0
  })
})
const send = variant === 'publish'
  ? (topic, value) => app.dashboard.publish(topic, value)
  : (topic, value) => app.dashboard.broadcast(topic, value)

await app.listen({ port: 0, host: '127.0.0.1' })
serve({
  count: () => app.dashboard.namespace.sockets.size,
  /** Publishes `rate` updates a second over `topics` topics for `seconds`, in 1 ms slices. */
  async produce ({ rate, topics, seconds }) {
    const names = Array.from({ length: topics }, (_, i) => `topic-${i}`)
    frames = 0
    bytes = 0
    const meter = cpuMeter()
    const t0 = performance.now()
    // A producer that falls behind drops what is more than 10 ms late (as a sampler does): catching up on
    // every missed update would queue without bound in the sockets' buffers (broadcasting 100,000
    // updates/s to 1,000 clients ran the server out of memory).
    const perSlice = Math.ceil(rate / 100)
    let next = 0
    let sent = 0
    while (performance.now() - t0 < seconds * 1000) {
      const due = Math.floor((performance.now() - t0) * rate / 1000)
      for (next = Math.max(next, due - perSlice); next < due; next++, sent++) send(names[next % topics], { value: next, at: Date.now() })
      await sleep(1)
    }
    const elapsed = (performance.now() - t0) / 1000
    const { cpu } = meter()
    return { updatesPerSec: sent / elapsed, framesPerSec: frames / elapsed, bytesPerSec: bytes / elapsed, cpu, lagging: sent < rate * seconds * 0.9 }
  }
}, { port: app.server.address().port })
