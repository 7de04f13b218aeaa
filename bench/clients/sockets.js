// Many WebSocket clients in one load-generator process (pinned to core 1).
// Modes:
//   eio  a `ws` socket speaking the Engine.IO v4 / Socket.IO v5 wire protocol
//        (open -> connect to namespace, answer pings, receive events): the
//        cheapest client that a socket.io server cannot tell from socket.io-client
//        over the websocket transport, so the load generator stays off its limit
//   sio  the real socket.io-client (websocket transport)
//   ws   a plain `ws` socket (for the raw ws server)
// Commands: connect, arm, wait, close.
import WebSocket from 'ws'
import { io as ioClient } from 'socket.io-client'
import { serve, cpuMeter, warmNextTick } from '../lib/proc.js'
import { LatencyHistogram, nowMs } from '../lib/stats.js'
import { connectAnswer, connectPacket, websocketUrl } from '../lib/eio-wire.js'

// As every server under test does: a load generator in Node's slow tick state is slower for every variant alike, but moves the load and so each server's CPU per operation (lib/proc.js).
await warmNextTick()

const sockets = []
const hist = new LatencyHistogram(10_000)
let received = 0
let meter = null
let waiter = null
let sampleEvery = 1 // record the latency of every n-th event (bursts sample to keep the client cheap)

function onEvent (buf) {
  if ((++received % sampleEvery) === 0) {
    const text = buf.toString('latin1')
    const i = text.indexOf('"bt":')
    if (i >= 0) hist.record(nowMs() - parseFloat(text.slice(i + 5)))
  }
  if (waiter && received >= waiter.expected) waiter.done()
}

function findBt (x, depth = 0) {
  if (!x || typeof x !== 'object' || depth > 3) return undefined
  if (typeof x.bt === 'number') return x.bt
  for (const v of Object.values(x)) {
    const r = findBt(v, depth + 1)
    if (r !== undefined) return r
  }
}

function openOne ({ url, mode, origin, ns }) {
  return new Promise((resolve) => {
    if (mode === 'sio') {
      const s = ioClient(url + ns, { transports: ['websocket'], forceNew: true, reconnection: false, extraHeaders: origin ? { origin } : {} })
      s.on('connect', () => resolve({ ok: true, close: () => s.disconnect() }))
      s.on('connect_error', (err) => { s.close(); resolve({ ok: false, error: err.message }) })
      s.onAny((_ev, payload) => {
        const bt = findBt(payload)
        if (bt === undefined) return
        if ((++received % sampleEvery) === 0) hist.record(nowMs() - bt)
        if (waiter && received >= waiter.expected) waiter.done()
      })
      return
    }
    const target = mode === 'eio' ? websocketUrl(url) : `${url}/ws`
    const ws = new WebSocket(target, { perMessageDeflate: false, ...(origin ? { origin } : {}) })
    const close = () => ws.terminate()
    let settled = false
    const settle = (r) => { if (!settled) { settled = true; resolve(r) } }
    ws.on('error', (err) => settle({ ok: false, error: err.message }))
    ws.on('close', () => settle({ ok: false, error: 'closed' }))
    ws.on('unexpected-response', (_req, res) => settle({ ok: false, error: `HTTP ${res.statusCode}` }))
    if (mode === 'ws') {
      ws.on('open', () => settle({ ok: true, close }))
      ws.on('message', onEvent)
      return
    }
    ws.on('message', (data) => {
      switch (data[0]) {
        case 0x30: ws.send(connectPacket(ns)); return // '0' engine.io open -> join the namespace
        case 0x32: ws.send('3'); return // '2' ping -> pong
        case 0x34: { // '4' message: a socket.io packet
          if (data[1] === 0x32) return onEvent(data) // '2' EVENT
          const text = data.toString('latin1')
          const answer = connectAnswer(text, ns)
          if (answer === 'connected') settle({ ok: true, close })
          else if (answer === 'refused') settle({ ok: false, error: `connect_error ${text.slice(2, 200)}` })
        }
      }
    })
  })
}

serve({
  async connect ({ url, n, mode, origin, ns = '/admin', batch = 100 }) {
    const t0 = Date.now()
    let failed = 0
    let lastError = null
    for (let i = 0; i < n; i += batch) {
      const res = await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => openOne({ url, mode, origin, ns })))
      for (const r of res) {
        if (r.ok) sockets.push(r)
        else { failed++; lastError = r.error }
      }
    }
    return { connected: sockets.length, failed, lastError, ms: Date.now() - t0 }
  },
  arm ({ sample = 1 } = {}) {
    received = 0
    sampleEvery = sample
    hist.reset()
    meter = cpuMeter()
  },
  wait ({ expected, timeoutMs = 60_000 }) {
    return new Promise((resolve) => {
      const finish = () => {
        const lastRecv = nowMs()
        clearTimeout(timer)
        waiter = null
        resolve({ received, lastRecv, latency: hist.summary(), ...(meter ? meter() : {}), timedOut: received < expected })
      }
      const timer = setTimeout(finish, timeoutMs)
      waiter = { expected, done: finish }
      if (received >= expected) finish()
    })
  },
  close () {
    for (const s of sockets.splice(0)) s.close()
  }
})
