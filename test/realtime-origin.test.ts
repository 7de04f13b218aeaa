import t from 'tap'
import WebSocket from 'ws'
import {
  ALLOWED, EVIL, client, connectError, connected, headerCount, pollingHandshake, raw, rawUpgrade, startApp, until, waitFor, within
} from './helpers/realtime.js'

// Every engine.io request whose Origin the policy refuses is answered 403 before engine.io sees it
// (engine.io's own check, `allowRequest` in engine.io/lib/server.ts verify(), is skipped for requests with a sid).

t.test('polling handshake from a refused origin: 403, no session, no engine.io cookie', async (t) => {
  const { url, counters } = await startApp(t, { realtime: { cookie: true } })
  const response = await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: EVIL, cookie: 'session=x' } })
  t.equal(response.status, 403)
  t.equal(response.headers['set-cookie'], undefined, 'no io cookie')
  t.equal(response.headers['access-control-allow-origin'], undefined)
  t.equal(response.headers['access-control-allow-credentials'], undefined)
  t.equal(response.headers.vary, 'Origin')
  t.same(JSON.parse(response.body), { statusCode: 403, code: 'ORIGIN_REFUSED', error: 'Forbidden', message: 'Origin not allowed' })
  t.equal(counters.engine, 0, 'no engine.io connection')
})

t.test('polling handshake from an allowed origin: session, ACAO once, credentials, Vary', async (t) => {
  const { url, counters } = await startApp(t, { realtime: { cookie: true } })
  const response = await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED } })
  t.equal(response.status, 200)
  t.match(response.body, /^0\{"sid":/)
  t.equal(headerCount(response, 'access-control-allow-origin'), 1)
  t.equal(response.headers['access-control-allow-origin'], ALLOWED)
  t.equal(response.headers['access-control-allow-credentials'], 'true')
  t.equal(response.headers.vary, 'Origin')
  t.match(response.headers['set-cookie'], [/^io=/], 'engine.io cookie for an allowed handshake')
  await until(() => counters.engine === 1, 2000, 'engine connection')
})

t.test('without credentials the grant has no Access-Control-Allow-Credentials', async (t) => {
  const { url } = await startApp(t, { cors: { credentials: false } })
  const response = await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED } })
  t.equal(response.status, 200)
  t.equal(response.headers['access-control-allow-origin'], ALLOWED)
  t.equal(response.headers['access-control-allow-credentials'], undefined)
})

t.test('engine.io\'s own error responses to an allowed origin carry the grant', async (t) => {
  const { url } = await startApp(t)
  const unknown = await raw(`${url()}?EIO=4&transport=polling&sid=not-a-session`, { headers: { origin: ALLOWED } })
  t.equal(unknown.status, 400)
  t.same(JSON.parse(unknown.body), { code: 1, message: 'Session ID unknown' })
  t.equal(headerCount(unknown, 'access-control-allow-origin'), 1)
  t.equal(unknown.headers['access-control-allow-origin'], ALLOWED)
  t.equal(unknown.headers['access-control-allow-credentials'], 'true')
  t.equal(unknown.headers.vary, 'Origin')

  const badTransport = await raw(`${url()}?EIO=4&transport=carrier-pigeon`, { headers: { origin: ALLOWED } })
  t.equal(badTransport.status, 400)
  t.equal(badTransport.headers['access-control-allow-origin'], ALLOWED)
})

t.test('a request without Origin is allowed by default, with Vary and no grant', async (t) => {
  const { url, counters } = await startApp(t)
  const response = await raw(`${url()}?EIO=4&transport=polling`)
  t.equal(response.status, 200)
  t.match(response.body, /^0\{"sid":/)
  t.equal(response.headers['access-control-allow-origin'], undefined)
  t.equal(response.headers['access-control-allow-credentials'], undefined)
  t.equal(response.headers.vary, 'Origin')
  await until(() => counters.engine === 1, 2000, 'engine connection')
})

t.test('requireOrigin refuses polling and upgrades without Origin, and still serves allowed ones', async (t) => {
  const { url, port, counters, logs } = await startApp(t, { realtime: { requireOrigin: true } })
  const polling = await raw(`${url()}?EIO=4&transport=polling`)
  t.equal(polling.status, 403)
  t.match(JSON.parse(polling.body), { code: 'ORIGIN_REFUSED', message: 'Origin header required' })
  const upgrade = await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket')
  t.equal(upgrade.statusLine, 'HTTP/1.1 403 Forbidden')
  t.ok(upgrade.closed)
  t.equal(counters.engine, 0)
  t.ok(logs.some((line) => line.reason === 'absent' && line.level === 40), 'refusal logged')
  t.equal((await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED } })).status, 200)
})

t.test('polling GET with a sid from an allowed origin, replayed from a refused origin: 403', async (t) => {
  // A short ping interval (a pass-through engine.io option) so that the owner's long poll returns soon.
  const { url, counters } = await startApp(t, { realtime: { pingInterval: 100 } })
  const sid = await pollingHandshake(url())
  const response = await raw(`${url()}?EIO=4&transport=polling&sid=${sid}`, { headers: { origin: EVIL } })
  t.equal(response.status, 403)
  t.equal(response.headers['access-control-allow-origin'], undefined)
  t.equal(response.headers['access-control-allow-credentials'], undefined)
  t.equal(response.headers.vary, 'Origin')
  // The session is intact for its owner: the next GET from the allowed origin is served.
  const owner = await raw(`${url()}?EIO=4&transport=polling&sid=${sid}`, { headers: { origin: ALLOWED } })
  t.equal(owner.status, 200)
  t.equal(owner.body, '2', 'the ping the evil request did not steal')
  t.equal(counters.engine, 1)
})

t.test('polling POST of a namespace CONNECT with a known sid from a refused origin: 403, no namespace connection', async (t) => {
  const { url, counters } = await startApp(t)
  const sid = await pollingHandshake(url())
  const evil = await raw(`${url()}?EIO=4&transport=polling&sid=${sid}`, {
    method: 'POST', headers: { origin: EVIL, 'content-type': 'text/plain;charset=UTF-8' }, body: '40{"token":"admin-token"}'
  })
  t.equal(evil.status, 403)
  t.equal(evil.body.includes('ORIGIN_REFUSED'), true)

  // The same POST from the allowed origin connects, on the same session: its CONNECT is the sentinel.
  // Had the refused one reached engine.io, its CONNECT would have been read first and answered too.
  const allowed = await raw(`${url()}?EIO=4&transport=polling&sid=${sid}`, {
    method: 'POST', headers: { origin: ALLOWED, 'content-type': 'text/plain;charset=UTF-8' }, body: '40{"token":"admin-token"}'
  })
  t.equal(allowed.status, 200)
  t.equal(allowed.body, 'ok')
  t.equal(allowed.headers['access-control-allow-origin'], ALLOWED)
  await until(() => counters.namespaces.get('/') === 1, undefined, 'the allowed CONNECT to connect')
  const answers = await raw(`${url()}?EIO=4&transport=polling&sid=${sid}`, { headers: { origin: ALLOWED } })
  t.equal(answers.body.match(/40\{"sid":/g)?.length, 1, 'one CONNECT answered: the allowed one')
  t.equal(counters.namespaces.get('/'), 1, 'one namespace connection')
})

t.test('preflight of a polling POST: 204 with the grant for an allowed origin, 403 for a refused one', async (t) => {
  const { url, counters } = await startApp(t)
  const preflight = (origin: string) => raw(`${url()}?EIO=4&transport=polling&sid=x`, {
    method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
  })
  const allowed = await preflight(ALLOWED)
  t.equal(allowed.status, 204)
  t.equal(allowed.headers['access-control-allow-origin'], ALLOWED)
  t.equal(allowed.headers['access-control-allow-credentials'], 'true')
  t.match(allowed.headers.vary, /Origin/)
  const refused = await preflight(EVIL)
  t.equal(refused.status, 403)
  t.equal(refused.headers['access-control-allow-origin'], undefined)
  t.equal(refused.headers['access-control-allow-methods'], undefined)
  t.equal(counters.engine, 0)
})

t.test('WebSocket handshake (no sid) from a refused origin: raw 403, socket closed, no session', async (t) => {
  const { port, counters } = await startApp(t)
  const upgrade = await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin: EVIL, cookie: 'session=x' })
  t.equal(upgrade.statusLine, 'HTTP/1.1 403 Forbidden')
  t.match(upgrade.head, /\r\nvary: Origin/i)
  t.notMatch(upgrade.head, /access-control-allow/i)
  t.match(upgrade.received, /ORIGIN_REFUSED/)
  t.ok(upgrade.closed, 'server closed the connection')
  t.equal(counters.engine, 0)
})

t.test('WebSocket handshake (no sid) from an allowed origin: 101 and an engine.io session', async (t) => {
  const { port, counters } = await startApp(t)
  const upgrade = await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin: ALLOWED })
  t.equal(upgrade.status, 101)
  t.notOk(upgrade.closed)
  t.match(upgrade.received.slice(upgrade.head.length), /0\{"sid":/, 'engine.io serves it: its open packet arrived')
  await until(() => counters.engine === 1, 2000, 'engine connection')
})

t.test('upgrade of an allowed polling session from a refused origin: raw 403, session not upgraded', async (t) => {
  const { port, url, counters, app } = await startApp(t)
  const sid = await pollingHandshake(url())
  const upgrade = await rawUpgrade(port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`, { origin: EVIL })
  t.equal(upgrade.statusLine, 'HTTP/1.1 403 Forbidden')
  t.ok(upgrade.closed)
  const sessions = (app.io.engine as unknown as { clients: Record<string, { transport: { name: string } }> }).clients
  t.equal(sessions[sid]?.transport.name, 'polling', 'still on polling')
  t.equal(counters.engine, 1, 'only the allowed handshake')
})

t.test('ws with a spoofed Origin gets unexpected-response 403; with the allowed one it opens', async (t) => {
  const { port, counters } = await startApp(t)
  const address = `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`
  const refused = new WebSocket(address, { origin: EVIL })
  t.teardown(() => { refused.terminate() })
  refused.on('error', () => {})
  const status = await within(new Promise<number | undefined>((resolve, reject) => {
    refused.once('unexpected-response', (_request, response) => { resolve(response.statusCode) })
    refused.once('open', () => { reject(new Error('the upgrade from a spoofed Origin opened')) })
  }), 'the refused upgrade\'s response')
  t.equal(status, 403)
  t.equal(counters.engine, 0)
  const allowed = new WebSocket(address, { headers: { origin: ALLOWED } })
  t.teardown(() => { allowed.terminate() })
  const opened = await waitFor<Buffer>(allowed, 'message', { what: 'engine.io\'s open packet', failOn: 'unexpected-response' })
  t.match(opened.toString(), /^0\{"sid":/)
})

for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']] as const) {
  const label = transports.join('+')
  t.test(`socket.io-client (${label}) from a refused origin cannot connect`, async (t) => {
    const { origin, counters } = await startApp(t)
    const socket = client(t, origin, { transports: [...transports], extraHeaders: { origin: EVIL }, auth: { token: 'admin-token' } })
    const error = await connectError(socket)
    t.equal(error.message, transports[0] === 'polling' ? 'xhr poll error' : 'websocket error')
    t.equal(counters.engine, 0)
    t.equal(counters.namespaces.get('/') ?? 0, 0)
  })

  t.test(`socket.io-client (${label}) from the allowed origin connects as ${transports.at(-1)}`, async (t) => {
    const { origin, counters, app } = await startApp(t)
    const socket = await connected(client(t, origin, { transports: [...transports], extraHeaders: { origin: ALLOWED }, auth: { token: 'user-token' } }))
    if (transports.length === 2) await until(() => socket.io.engine.transport.name === 'websocket', 3000, 'upgrade')
    t.equal(socket.io.engine.transport.name, transports.at(-1))
    t.equal(counters.engine, 1)
    t.equal(counters.namespaces.get('/'), 1)
    const [serverSocket] = await app.io.fetchSockets()
    t.equal(serverSocket?.data.user.id, 'u-user')
  })
}

t.test('a non-Socket.IO upgrade is closed; other HTTP requests reach Fastify routes', async (t) => {
  const { port, url, counters } = await startApp(t, {
    after: (app) => { app.get('/hello', async () => ({ hello: 'world' })) }
  })
  const upgrade = await rawUpgrade(port, '/elsewhere', { origin: ALLOWED })
  t.ok(upgrade.closed)
  t.equal(upgrade.received, '')
  const route = await raw(url('/hello'), { headers: { origin: ALLOWED } })
  t.equal(route.status, 200)
  t.equal(route.body, '{"hello":"world"}')
  t.equal(route.headers['access-control-allow-origin'], ALLOWED)
  const evilRoute = await raw(url('/hello'), { headers: { origin: EVIL } })
  t.equal(evilRoute.status, 403, 'the CORS plugin still guards routes')
  const lookalike = await raw(url('/socket.iox/?EIO=4&transport=polling'), { headers: { origin: ALLOWED } })
  t.equal(lookalike.status, 404, 'only the engine.io path is handed to engine.io')
  t.equal(counters.engine, 0)
})

t.test('a non-Socket.IO upgrade is left alone when another upgrade handler exists', async (t) => {
  const { port } = await startApp(t, {
    after: (app) => {
      app.server.on('upgrade', (request, socket) => {
        if (request.url === '/other') socket.end('HTTP/1.1 418 I\'m a Teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      })
    }
  })
  const upgrade = await rawUpgrade(port, '/other')
  t.equal(upgrade.status, 418)
})

t.test('a custom path is gated the same way', async (t) => {
  const { url, port, counters } = await startApp(t, { realtime: { path: '/rt' } })
  t.equal((await raw(`${url('/rt/')}?EIO=4&transport=polling`, { headers: { origin: EVIL } })).status, 403)
  t.equal((await rawUpgrade(port, '/rt/?EIO=4&transport=websocket', { origin: EVIL })).status, 403)
  t.equal((await raw(`${url('/rt/')}?EIO=4&transport=polling`, { headers: { origin: ALLOWED } })).status, 200)
  t.equal((await raw(`${url('/socket.io/')}?EIO=4&transport=polling`, { headers: { origin: ALLOWED } })).status, 404)
  await until(() => counters.engine === 1, 2000, 'engine connection')
})

t.test('refusals are logged with origin and reason, rate-limited per origin', async (t) => {
  const { url, port, logs } = await startApp(t)
  for (let i = 0; i < 3; i++) await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: EVIL } })
  await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin: EVIL })
  await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: 'https://other.example' } })
  const refusals = logs.filter((line) => line.level === 40 && line.reason !== undefined)
  t.equal(refusals.length, 2, 'one line per origin per interval')
  t.match(refusals[0], { origin: EVIL, reason: 'not-listed', url: /^\/socket\.io\// })
  t.match(refusals[1], { origin: 'https://other.example', reason: 'not-listed' })
})
