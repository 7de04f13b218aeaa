// Socket.IO handshake load generator: `concurrency` connections in flight; each one connects to the
// namespace, then disconnects, and a new one starts. Counts completed handshakes per second.
// Clients:
//   sio  the real socket.io-client, either transport list (`--sio-client`)
//   eio  the Engine.IO v4 / Socket.IO v5 wire protocol (bench/lib/eio-handshake.js), which a socket.io server
//        cannot tell from socket.io-client's, at a fraction of its client CPU per handshake, so that the
//        load generator's core keeps up with the server; WebSocket only, or polling then WebSocket
import { io } from 'socket.io-client'
import { serve, cpuMeter, warmNextTick } from '../lib/proc.js'
import { LatencyHistogram } from '../lib/stats.js'
import { eioHandshake, eioPollingHandshake } from '../lib/eio-handshake.js'

// As every server under test does: a load generator in Node's slow tick state is slower for every variant alike, but moves the load and so each server's CPU per operation (lib/proc.js).
await warmNextTick()

const hist = new LatencyHistogram(10_000)

function sioHandshake ({ url, ns, origin, transports }) {
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

async function run ({ url, ns = '/admin', origin, duration = 1, concurrency = 10, transports = ['polling', 'websocket'], client = 'sio' }) {
  const websocketOnly = transports.length === 1 && transports[0] === 'websocket'
  if (client === 'eio' && !websocketOnly && transports.join() !== 'polling,websocket') throw new Error('the eio client speaks websocket, or polling then websocket')
  const one = client === 'sio' ? sioHandshake : websocketOnly ? eioHandshake : eioPollingHandshake
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
