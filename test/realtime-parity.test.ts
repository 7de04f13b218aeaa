import t from 'tap'
import { raw, rawUpgrade, startApp } from './helpers/realtime.js'

// One table of origins, decided by the CORS plugin on a route and by the realtime plugin on the polling
// handshake and on the WebSocket upgrade: the decisions must be the same, and the expected ones.
const TABLE: Array<[origin: string, allowed: boolean]> = [
  ['https://app.example', true],
  ['https://APP.example', false],
  ['https://app.example/', false],
  ['https://app.example:443', false],
  ['http://app.example', false],
  ['https://app.example:8443', false],
  ['https://app.example.evil.net', false],
  ['https://evilapp.example', false],
  ['https://x.app.example', false],
  ['https://a.tenants.example.com', true],
  ['https://a.b.tenants.example.com', true],
  ['https://tenants.example.com', false],
  ['https://a.tenants.example.com.evil.net', false],
  ['http://a.tenants.example.com', false],
  ['https://pr-42.preview.example.dev', true],
  ['https://pr-42.preview.example.dev.evil.net', false],
  ['https://pr-x.preview.example.dev', false],
  ['http://localhost:5173', true],
  ['http://localhost:5174', false],
  ['null', false],
  ['https://app.example, https://evil.example', false],
  ['https://user@app.example', false],
  ['', false],
  ['file://', false]
]

t.test('the CORS plugin and the Socket.IO gate decide every origin alike', async (t) => {
  const { url, port, counters } = await startApp(t, {
    cors: { origins: ['https://app.example', 'https://*.tenants.example.com', /https:\/\/pr-\d+\.preview\.example\.dev/, 'http://localhost:5173'] },
    after: (app) => { app.get('/probe', async () => 'ok') }
  })
  let engineAllowed = 0
  for (const [origin, expected] of TABLE) {
    const route = await raw(url('/probe'), { headers: { origin } })
    const polling = await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin } })
    const upgrade = await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin })
    const decisions = {
      route: route.status === 200 && route.headers['access-control-allow-origin'] === origin,
      polling: polling.status === 200 && polling.headers['access-control-allow-origin'] === origin,
      upgrade: upgrade.status === 101
    }
    t.same(decisions, { route: expected, polling: expected, upgrade: expected }, `${JSON.stringify(origin)} → ${expected ? 'allowed' : 'refused'}`)
    if (!expected) t.same([route.status, polling.status, upgrade.status], [403, 403, 403], `${JSON.stringify(origin)} refused with 403 everywhere`)
    if (expected) engineAllowed += 2
  }
  t.equal(counters.engine, engineAllowed, 'engine.io sessions only for allowed origins')
})
