// One Socket.IO handshake on the Engine.IO v4 / Socket.IO v5 wire protocol (bench/lib/eio-wire.js), as
// the handshake load generator (bench/clients/handshake.js) and the instruction counts
// (bench/suites/instructions.js) make it; each resolves to `{ ok: true, ms }` (milliseconds until the
// namespace's CONNECT answer) or `{ ok: false, error }`, and every wait is bounded (10 s).
//   eioHandshake         WebSocket only: open -> CONNECT to the namespace -> its answer -> DISCONNECT and a close frame
//   eioPollingHandshake  the requests socket.io-client makes for polling then WebSocket: GET open, POST the
//                        CONNECT, GET its answer, then the upgrade (probe, its answer, upgrade packet),
//                        DISCONNECT and a close frame on the WebSocket
import http from 'node:http'
import WebSocket from 'ws'
import { connectAnswer, connectPacket, disconnectPacket, pollingPackets, pollingUrl, websocketUrl, PROBE, PROBE_ANSWER, UPGRADE } from './eio-wire.js'

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

export async function eioPollingHandshake ({ url, ns, origin }) {
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

export function eioHandshake ({ url, ns, origin }) {
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
