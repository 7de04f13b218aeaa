// Socket.IO handshake load generator: the real socket.io-client, `concurrency`
// connections in flight; each one connects to the namespace, then disconnects,
// and a new one starts. Counts completed handshakes per second.
import { io } from 'socket.io-client'
import { serve, cpuMeter } from '../lib/proc.js'
import { LatencyHistogram } from '../lib/stats.js'

const hist = new LatencyHistogram(10_000)

function one ({ url, ns, origin, transports }) {
  return new Promise((resolve) => {
    const t0 = performance.now()
    const s = io(url + ns, { forceNew: true, reconnection: false, transports, extraHeaders: origin ? { origin } : {}, timeout: 10_000 })
    s.on('connect', () => {
      const ms = performance.now() - t0
      s.disconnect()
      resolve({ ok: true, ms })
    })
    s.on('connect_error', (err) => {
      s.close()
      resolve({ ok: false, error: err.message })
    })
  })
}

async function run ({ url, ns = '/admin', origin, duration = 1, concurrency = 10, transports = ['polling', 'websocket'] }) {
  hist.reset()
  const meter = cpuMeter()
  const t0 = performance.now()
  const end = t0 + duration * 1000
  let ok = 0
  let failed = 0
  let lastError = null
  const worker = async () => {
    while (performance.now() < end) {
      const r = await one({ url, ns, origin, transports })
      if (r.ok) { ok++; hist.record(r.ms) } else { failed++; lastError = r.error }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const seconds = (performance.now() - t0) / 1000
  const load = meter()
  return { handshakesPerSec: ok / seconds, ok, failed, lastError, latency: hist.summary(), ...load }
}

serve({ run })
