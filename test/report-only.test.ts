import t from 'tap'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { corsPolicy } from '../plugins/cors.js'
import { ALLOWED, EVIL, client, connected, logCollector, raw, rawUpgrade, startApp } from './helpers/realtime.js'

const CHANNELS_ZERO = { http: 0, preflight: 0, polling: 0, websocket: 0 }
const wouldRefuse = (line: Record<string, unknown>): boolean => line.reportOnly === true && String(line.msg).startsWith('report-only, served: would refuse')

t.test('report-only over the network: HTTP, a preflight, polling and a WebSocket from an unlisted origin are served, counted, logged once, and warned about at start', async (t) => {
  const { app, origin, port, url, logs } = await startApp(t, {
    cors: { refusal: 'report-only' },
    after: (app) => { app.get('/data', async () => ({ secret: 42 })) }
  })
  const starts = logs.filter((line) => line.level === 40 && line.msg.startsWith('REPORT-ONLY'))
  t.same(starts.map((line) => line.plugin), ['fastify-cors-io', 'fastify-cors-io:realtime'], 'both plugins warn at start')
  t.match(starts[0]!.msg, /SERVED as if listed, with credentials, so any site can read your users' data/)

  const http = await raw(`${origin}/data`, { headers: { origin: EVIL } })
  t.equal(http.status, 200, 'the handler ran')
  t.equal(http.headers['access-control-allow-origin'], EVIL, 'the grant a listed origin gets: echoed')
  t.equal(http.headers['access-control-allow-credentials'], 'true')
  t.equal(http.headers.vary, 'Origin')
  const preflight = await raw(`${origin}/data`, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'PUT' } })
  t.equal(preflight.status, 204)
  t.equal(preflight.headers['access-control-allow-origin'], EVIL)
  const polling = await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: EVIL } })
  t.equal(polling.status, 200)
  t.ok(polling.body.startsWith('0{'), 'an engine.io handshake')
  t.equal(polling.headers['access-control-allow-origin'], EVIL)
  const socket = client(t, url('/'), { transports: ['websocket'], extraHeaders: { origin: EVIL }, auth: { token: 'user-token' } })
  await connected(socket)

  const lines = logs.filter(wouldRefuse)
  t.equal(lines.length, 1, 'one line per origin and reason, whatever the channel')
  t.match(lines[0], { origin: EVIL, reason: 'not-listed', level: 40 })
  const stats = app.originPolicy.stats()
  t.equal(stats.mode, 'report-only')
  t.same(stats.origins.find((counts) => counts.origin === EVIL), {
    origin: EVIL,
    total: 4,
    allowed: CHANNELS_ZERO,
    refused: [],
    wouldRefuse: [{ reason: 'not-listed', fix: 'if this origin is yours, add it to origins (or CORS_ORIGINS)', total: 4, channels: { http: 1, preflight: 1, polling: 1, websocket: 1 } }]
  })
  t.equal(stats.sockets.connected, 1)
  t.equal(stats.sockets['refused-origin'], 0)

  // A raw upgrade is served too (101), the sentinel that the refusal below is the mode's, not the port's.
  t.equal((await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin: EVIL })).status, 101)
})

t.test('report-only still refuses what no browser sends: null, malformed and over-long Origins', async (t) => {
  const { app, origin, port, url } = await startApp(t, { cors: { refusal: 'report-only' }, after: (app) => { app.get('/data', async () => 'data') } })
  for (const bad of ['null', 'https://app.example/path', `https://${'a'.repeat(300)}.example`]) {
    const http = await raw(`${origin}/data`, { headers: { origin: bad } })
    t.equal(http.status, 403, `${bad.slice(0, 40)}: refused on HTTP`)
    t.equal(http.headers['access-control-allow-origin'], undefined)
    t.equal((await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: bad } })).status, 403, 'and on polling')
    t.equal((await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin: bad })).status, 403, 'and on upgrades')
  }
  const { totals, sockets } = app.originPolicy.stats()
  t.same(totals.wouldRefuse, [], 'none of them was served')
  t.same(totals.refused.map(({ reason, channels }) => ({ reason, channels })), [
    { reason: 'too-long', channels: { http: 1, preflight: 0, polling: 1, websocket: 1 } },
    { reason: 'malformed', channels: { http: 2, preflight: 0, polling: 2, websocket: 2 } }
  ])
  t.equal(sockets['refused-origin'], 6)
})

t.test('report-only without credentials grants what a listed origin gets, and no credentials', async (t) => {
  const { logs, stream } = logCollector()
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [ALLOWED], refusal: 'report-only', exposedHeaders: ['X-Total'] })
  app.get('/data', async () => 'data')
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const warning = logs.find((line) => line.msg.startsWith('REPORT-ONLY'))
  t.ok(warning, 'warned at start')
  t.notMatch(warning!.msg, /credentials/)
  const response = await raw(`${base}/data`, { headers: { origin: EVIL } })
  t.equal(response.status, 200)
  t.equal(response.headers['access-control-allow-origin'], EVIL)
  t.equal(response.headers['access-control-expose-headers'], 'X-Total')
  t.equal(response.headers['access-control-allow-credentials'], undefined)
})
