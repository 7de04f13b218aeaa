// Realtime server under test, one variant per process (run with --expose-gc); the variants are
// bench/lib/realtime-app.js's.
// Usage: node --expose-gc realtime.js <variant>
// Commands (IPC): count, mem, burst, paced, cpuStart, cpuStop, cpuStopDetail.
import { setImmediate as yieldLoop, setTimeout as sleep } from 'node:timers/promises'
import { serve, cpuMeter } from '../lib/proc.js'
import { buildRealtimeApp } from '../lib/realtime-app.js'
import { nowMs } from '../lib/stats.js'

const variant = process.argv[2]
const { app, broadcast, count, recovery } = await buildRealtimeApp(variant)
await app.listen({ host: '127.0.0.1', port: 0 })

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
