// Socket.IO handshake load generator: `concurrency` connections in flight; each one connects to the
// namespace, then disconnects, and a new one starts. Counts completed handshakes per second.
// Clients:
//   sio  the real socket.io-client, either transport list (`--sio-client`)
//   eio  the Engine.IO v4 / Socket.IO v5 wire protocol (bench/lib/eio-wire.js), which a socket.io server
//        cannot tell from socket.io-client's, at a fraction of its client CPU per handshake, so that the
//        load generator's core keeps up with the server. WebSocket only: open -> CONNECT to the
//        namespace -> its answer -> DISCONNECT and a close frame. Polling then WebSocket, the requests
//        socket.io-client makes (about 3 polling requests and one upgrade a handshake, counted on a
//        plain socket.io server): GET open, POST the CONNECT, GET its answer, then the upgrade (probe,
//        its answer, upgrade packet), DISCONNECT and a close frame on the WebSocket
import http from 'node:http'
import WebSocket from 'ws'
import { io } from 'socket.io-client'
import { serve, cpuMeter, warmNextTick } from '../lib/proc.js'
import { LatencyHistogram } from '../lib/stats.js'
import { connectAnswer, connectPacket, disconnectPacket, pollingPackets, pollingUrl, websocketUrl, PROBE, PROBE_ANSWER, UPGRADE } from '../lib/eio-wire.js'

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

// Kept-alive connections for the polling requests, as socket.io-client's in Node (its global agent keeps them alive).
const pollingAgent = new http.Agent({ keepAlive: true })

/** One polling request; its body as text, or an error naming the status. */
function poll (url, origin, body) {
  return new Promise((resolve, reject) => {
    const headers = { ...(origin ? { origin } : {}), ...(body === undefined ? {} : { 'content-type': 'text/plain;charset=UTF-8', 'content-length': Buffer.byteLength(body) }) }
    const request = http.request(url, { method: body === undefined ? 'GET' : 'POST', headers, agent: pollingAgent, timeout: 10_000 }, (response) => {
      let text = ''
      response.setEncoding('latin1')
      response.on('data', (chunk) => { text += chunk })
      response.on('end', () => { if (response.statusCode === 200) resolve(text); else reject(new Error(`HTTP ${response.statusCode} ${text.slice(0, 200)}`)) })
    })
    request.on('timeout', () => request.destroy(new Error('no polling answer within 10 s')))
    request.on('error', reject)
    request.end(body)
  })
}

async function eioPollingHandshake ({ url, ns, origin }) {
  const t0 = performance.now()
  try {
    const open = await poll(pollingUrl(url), origin)
    if (open[0] !== '0') return { ok: false, error: `no open packet: ${open.slice(0, 200)}` }
    const sid = JSON.parse(open.slice(1)).sid
    await poll(pollingUrl(url, sid), origin, connectPacket(ns))
    const answers = pollingPackets(await poll(pollingUrl(url, sid), origin)).map((packet) => connectAnswer(packet, ns))
    if (!answers.includes('connected')) return { ok: false, error: answers.includes('refused') ? 'connect_error' : 'no CONNECT answer in the poll' }
    const ms = performance.now() - t0
    await upgrade(url, sid, ns, origin)
    return { ok: true, ms }
  } catch (error) {
    return { ok: false, error: error.message }
  }
}

/** The session's upgrade to WebSocket, then DISCONNECT from `ns` and a close frame on it. */
function upgrade (url, sid, ns, origin) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(websocketUrl(url, sid), { perMessageDeflate: false, handshakeTimeout: 10_000, ...(origin ? { origin } : {}) })
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('upgrade: not done within 10 s')) }, 10_000)
    ws.on('error', reject)
    ws.on('unexpected-response', (_req, res) => { ws.terminate(); reject(new Error(`upgrade: HTTP ${res.statusCode}`)) })
    ws.on('open', () => { ws.send(PROBE) })
    ws.on('message', (data) => {
      if (data.toString('latin1') !== PROBE_ANSWER) return
      ws.send(UPGRADE)
      ws.send(disconnectPacket(ns))
      ws.close()
    })
    ws.on('close', () => { clearTimeout(timer); resolve() })
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
