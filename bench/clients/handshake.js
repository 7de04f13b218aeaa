// Socket.IO handshake load generator: `concurrency` connections in flight; each one connects to the
// namespace, then disconnects, and a new one starts. Counts completed handshakes per second.
// Clients:
//   sio  the real socket.io-client (every transport list; polling then upgrade needs it)
//   eio  a `ws` socket speaking the Engine.IO v4 / Socket.IO v5 wire protocol over the websocket
//        transport (open -> CONNECT to the namespace -> its answer -> DISCONNECT and a close frame;
//        bench/lib/eio-wire.js), which a socket.io server cannot tell from socket.io-client's: about
//        60 % of its client CPU per handshake, so the load generator's core keeps up with the server
import WebSocket from 'ws'
import { io } from 'socket.io-client'
import { serve, cpuMeter, warmNextTick } from '../lib/proc.js'
import { LatencyHistogram } from '../lib/stats.js'
import { connectAnswer, connectPacket, disconnectPacket, websocketUrl } from '../lib/eio-wire.js'

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

function eioHandshake ({ url, ns, origin }) {
  return new Promise((resolve) => {
    const t0 = performance.now()
    const ws = new WebSocket(websocketUrl(url), { perMessageDeflate: false, handshakeTimeout: 10_000, ...(origin ? { origin } : {}) })
    let settled = false
    const settle = (result) => {
      if (settled) return
      settled = true
      resolve(result)
    }
    ws.on('error', (err) => settle({ ok: false, error: err.message }))
    ws.on('close', () => settle({ ok: false, error: 'closed before the namespace answered' }))
    ws.on('unexpected-response', (_req, res) => { ws.terminate(); settle({ ok: false, error: `HTTP ${res.statusCode}` }) })
    ws.on('message', (data) => {
      if (data[0] === 0x30) { ws.send(connectPacket(ns)); return } // '0' engine.io open -> CONNECT to the namespace
      const text = data.toString('latin1')
      const answer = connectAnswer(text, ns)
      if (answer === 'connected') {
        const ms = performance.now() - t0
        ws.send(disconnectPacket(ns)) // then the close frame
        ws.close()
        settle({ ok: true, ms })
      } else if (answer === 'refused') {
        ws.close()
        settle({ ok: false, error: `connect_error ${text.slice(0, 200)}` })
      }
    })
  })
}

async function run ({ url, ns = '/admin', origin, duration = 1, concurrency = 10, transports = ['polling', 'websocket'], client = 'sio' }) {
  if (client === 'eio' && (transports.length !== 1 || transports[0] !== 'websocket')) throw new Error('the eio client speaks the websocket transport only')
  const one = client === 'eio' ? eioHandshake : sioHandshake
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
