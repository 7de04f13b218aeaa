import t from 'tap'
import Fastify from 'fastify'
import { Registry } from 'prom-client'
import type { OriginDecision } from '../lib/origin-matcher.js'
import { OriginStats } from '../lib/origin-stats.js'
import { REFUSAL_FIXES } from '../lib/origin-policy.js'
import { corsPolicy } from '../plugins/cors.js'
import { realtime } from '../plugins/realtime.js'
import type { DashboardEvents, RealtimeOptions } from '../index.js'
import {
  ALLOWED, EVIL, USERS, client, connectError, connected, dropTransport, raw, rawUpgrade, sessionPair, startApp, until
} from './helpers/realtime.js'

declare module '../index.js' {
  interface DashboardEvents {
    'stats:tick': { n: number }
  }
}

const ZERO = { http: 0, preflight: 0, polling: 0, websocket: 0 }
const authenticate: RealtimeOptions['authenticate'] = (handshake) => {
  if (handshake.auth.boom === true) throw new Error('authenticate exploded')
  const token = handshake.auth.token as string | undefined
  return token === undefined ? undefined : USERS[token]
}

t.test('stats() after a known mix of requests and connections: exact counts per origin, reason, channel and outcome', async (t) => {
  const { app, origin, port, url } = await startApp(t, { realtime: { authenticate }, after: (app) => { app.get('/data', async () => 'data') } })
  t.equal(app.originPolicy.stats().connectionSuccessRate, null, 'no outcome yet')
  const get = async (from?: string): Promise<number> => (await raw(`${origin}/data`, { headers: from === undefined ? {} : { origin: from } })).status
  t.same([await get(ALLOWED), await get(ALLOWED), await get(EVIL), await get(EVIL), await get(EVIL), await get('http://app.example'), await get()],
    [200, 200, 403, 403, 403, 403, 200])
  t.equal((await raw(`${origin}/data`, { method: 'OPTIONS', headers: { origin: ALLOWED, 'access-control-request-method': 'PUT' } })).status, 204)
  t.equal((await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED } })).status, 200)
  t.equal((await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: EVIL } })).status, 403)
  t.equal((await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin: EVIL })).status, 403)
  const socket = (namespace: string, auth: Record<string, unknown>): ReturnType<typeof client> =>
    client(t, url(namespace), { transports: ['websocket'], extraHeaders: { origin: ALLOWED }, auth })
  t.equal((await connectError(socket('/', {}))).message, 'unauthorized')
  t.equal((await connectError(socket('/admin', { token: 'user-token' }))).message, 'forbidden')
  t.equal((await connectError(socket('/', { boom: true }))).message, 'server-error')
  await connected(socket('/admin', { token: 'admin-token' }))

  const stats = app.originPolicy.stats()
  t.same(stats.origins.map(({ origin, total }) => ({ origin, total })), [
    { origin: ALLOWED, total: 8 }, { origin: EVIL, total: 5 }, { origin: 'http://app.example', total: 1 }
  ], 'most counted first; the request without Origin is not an origin decision')
  t.same(stats.origins[0], { origin: ALLOWED, total: 8, allowed: { http: 2, preflight: 1, polling: 1, websocket: 4 }, refused: [], wouldRefuse: [] })
  t.same(stats.origins[1]!.refused, [{ reason: 'not-listed', fix: REFUSAL_FIXES['not-listed'], total: 5, channels: { http: 3, preflight: 0, polling: 1, websocket: 1 } }])
  t.same(stats.origins[2]!.refused, [{ reason: 'scheme-differs', fix: REFUSAL_FIXES['scheme-differs'], total: 1, channels: { ...ZERO, http: 1 } }])
  t.same(stats.totals.allowed, { http: 2, preflight: 1, polling: 1, websocket: 4 })
  t.same(stats.totals.refused.map(({ reason, total }) => ({ reason, total })), [{ reason: 'scheme-differs', total: 1 }, { reason: 'not-listed', total: 5 }])
  t.same(stats.sockets, { connected: 1, recovered: 0, 'refused-origin': 2, unauthorized: 1, forbidden: 1, 'server-error': 1, 'too-many-namespaces': 0 })
  t.equal(stats.connectionSuccessRate, 1 / 6)
  t.same({ mode: stats.mode, originsLimit: stats.originsLimit, originsEvicted: stats.originsEvicted }, { mode: 'block', originsLimit: 100, originsEvicted: 0 })
})

t.test('a recovered connection is counted as recovered', async (t) => {
  const { app, origin } = await startApp(t, { realtime: { authenticate } })
  const socket = client(t, `${origin}/admin`, { transports: ['websocket'], extraHeaders: { origin: ALLOWED }, auth: { token: 'admin-token' } })
  await connected(socket)
  const ticks: number[] = []
  socket.on('stats:tick', (payload: DashboardEvents['stats:tick']) => { ticks.push(payload.n) })
  app.dashboard.broadcast('stats:tick', { n: 1 })
  await until(() => ticks.length === 1, 2000, 'tick 1')
  sessionPair(socket) // throws unless the client holds a pair to recover with
  dropTransport(socket)
  await until(() => app.dashboard.namespace.sockets.size === 0, 2000, 'the server to notice the drop')
  socket.connect()
  await connected(socket)
  t.equal(socket.recovered, true)
  t.match(app.originPolicy.stats().sockets, { connected: 1, recovered: 1 })
})

t.test('per-origin counters are bounded: a new origin takes the place of the least counted', async (t) => {
  const stats = new OriginStats(3)
  const refused: OriginDecision = { allowed: false, reason: 'not-listed' }
  const count = (origin: string, times: number): void => { for (let i = 0; i < times; i++) stats.count(origin, refused, false, 'http') }
  count('https://a.example', 5)
  count('https://b.example', 3)
  count('https://c.example', 1)
  count('https://d.example', 1) // evicts c, the least counted
  count('https://e.example', 2) // evicts d
  const snapshot = stats.snapshot('block', REFUSAL_FIXES)
  t.same(snapshot.origins.map(({ origin, total }) => [origin, total]), [['https://a.example', 5], ['https://b.example', 3], ['https://e.example', 2]])
  t.equal(snapshot.originsEvicted, 2)
  t.equal(snapshot.totals.refused[0]!.total, 12, 'totals keep every decision')
  // None has counted only once now (e twice), so the least counted is found by looking at all of them.
  count('https://b.example', 1)
  stats.count('https://f.example', { allowed: false, reason: 'not-listed' }, false, 'http') // evicts e (2), not b (4) nor a (5)
  const later = stats.snapshot('block', REFUSAL_FIXES)
  t.same(later.origins.map(({ origin, total }) => [origin, total]), [['https://a.example', 5], ['https://b.example', 4], ['https://f.example', 1]])
  t.same(later.origins[2]!.refused, [{ reason: 'not-listed', fix: REFUSAL_FIXES['not-listed'], total: 1, channels: { http: 1, preflight: 0, polling: 0, websocket: 0 } }],
    'the new origin starts from zero in the counters it takes over')
})

t.test('under many distinct origins the plugin tracks statsOrigins of them, and keeps the busy one', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [ALLOWED], statsOrigins: 5 })
  app.get('/data', async () => 'data')
  for (let i = 0; i < 10; i++) await app.inject({ url: '/data', headers: { origin: ALLOWED } })
  for (let i = 0; i < 200; i++) await app.inject({ url: '/data', headers: { origin: `https://probe-${i}.example` } })
  const long = `https://${'x'.repeat(400)}.example`
  await app.inject({ url: '/data', headers: { origin: long } })
  const stats = app.originPolicy.stats()
  t.equal(stats.origins.length, 5)
  t.same(stats.origins[0], { origin: ALLOWED, total: 10, allowed: { ...ZERO, http: 10 }, refused: [], wouldRefuse: [] })
  t.equal(stats.originsEvicted, 201 - 4)
  t.equal(stats.origins.at(-1)!.origin, `${long.slice(0, 300)}…`, 'an over-long Origin is counted under its logged cut')
  t.same(stats.totals.refused.map(({ reason, total }) => [reason, total]), [['too-long', 1], ['not-listed', 200]])
})

t.test('with a prom-client registry: conventional metrics without an origin label, read when scraped, removed at close', async (t) => {
  const registry = new Registry()
  const app = Fastify()
  await app.register(corsPolicy, { origins: [ALLOWED], credentials: true, metrics: { registry } })
  await app.register(realtime, { authenticate, isAdmin: () => true })
  app.get('/data', async () => 'data')
  await app.inject({ url: '/data', headers: { origin: ALLOWED } })
  await app.inject({ url: '/data', headers: { origin: EVIL } })
  await app.inject({ url: '/data', headers: { origin: EVIL } })
  app.originPolicy.countSocket('connected')
  const scraped = await registry.metrics()
  t.match(scraped, '# TYPE fastify_cors_io_origin_decisions_total counter')
  t.match(scraped, 'fastify_cors_io_origin_decisions_total{decision="allowed",reason="",channel="http"} 1\n')
  t.match(scraped, 'fastify_cors_io_origin_decisions_total{decision="refused",reason="not-listed",channel="http"} 2\n')
  t.match(scraped, 'fastify_cors_io_socket_connections_total{outcome="connected"} 1\n')
  t.match(scraped, 'fastify_cors_io_socket_connections_total{outcome="unauthorized"} 0\n')
  t.match(scraped, 'fastify_cors_io_report_only 0\n')
  t.notMatch(scraped, /origin="/, 'no per-origin label')

  app.originPolicy.update({ refusal: 'report-only' })
  await app.inject({ url: '/data', headers: { origin: EVIL } })
  const reported = await registry.metrics()
  t.match(reported, 'fastify_cors_io_origin_decisions_total{decision="would-refuse",reason="not-listed",channel="http"} 1\n')
  t.match(reported, 'fastify_cors_io_origin_decisions_total{decision="refused",reason="not-listed",channel="http"} 2\n', 'scrapes do not add up')
  t.match(reported, 'fastify_cors_io_report_only 1\n')

  await app.close()
  t.same(registry.getMetricsAsArray(), [], 'nothing left in the registry')
  const again = Fastify()
  t.teardown(() => again.close())
  await again.register(corsPolicy, { origins: [ALLOWED], metrics: { registry } })
  t.match(await registry.metrics(), 'fastify_cors_io_report_only 0', 'the next app registers the same names')
})
