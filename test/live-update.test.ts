import t from 'tap'
import type { AddressInfo } from 'node:net'
import Fastify, { type onSendHookHandler } from 'fastify'
import { CorsConfigError } from '../lib/errors.js'
import { diffAllowlists } from '../lib/live-policy.js'
import { parseAllowlist } from '../lib/allowlist.js'
import { ORIGIN_REVOKED, SERVER_EVENTS, type OriginRevokedPayload } from '../lib/protocol.js'
import { corsPolicy } from '../plugins/cors.js'
import { ALLOWED, EVIL, client, connected, logCollector, raw, rawPolling, rawUpgrade, startApp, waitFor } from './helpers/realtime.js'

const OTHER = 'https://other.example'
const updated = (line: { msg: string }): boolean => line.msg === 'origin allowlist updated'

t.test('update() over the network: a listed origin becomes refused and a refused one allowed, on HTTP and the engine.io gate', async (t) => {
  const { app, origin, port, url, logs } = await startApp(t, { after: (app) => { app.get('/data', async () => 'data') } })
  t.equal((await raw(`${origin}/data`, { headers: { origin: EVIL } })).status, 403, 'before: refused')
  t.equal((await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: EVIL } })).status, 403)
  const session = await rawPolling(url()) // an ALLOWED polling session, open across the update

  const change = app.originPolicy.update({ origins: [EVIL] })
  t.same(change, { added: [EVIL], removed: [ALLOWED] })
  t.match(logs.filter(updated), [{ level: 30, source: 'update()', added: [EVIL], removed: [ALLOWED], mode: 'block' }], 'logged once, with the diff')

  const now = await raw(`${origin}/data`, { headers: { origin: EVIL } })
  t.equal(now.status, 200, 'after: allowed')
  t.equal(now.headers['access-control-allow-origin'], EVIL)
  t.equal((await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: EVIL } })).status, 200, 'the gate admits it too')
  t.equal((await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin: EVIL })).status, 101)
  t.equal((await raw(`${origin}/data`, { headers: { origin: ALLOWED } })).status, 403, 'the removed origin is refused')
  t.equal((await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin: ALLOWED })).status, 403)
  const refusedPoll = await raw(`${url()}?EIO=4&transport=polling&sid=${session.sid}`, { headers: { origin: ALLOWED } })
  t.equal(refusedPoll.status, 403, 'the open polling session\'s next request is refused')
  t.equal(app.originPolicy.stats().sockets['refused-origin'], 2, 'the two handshakes; the request of an existing session is no new connection')
})

t.test('a live socket whose origin an update removes is told why and disconnected, on WebSocket and on polling; others stay', async (t) => {
  const { app, url, logs } = await startApp(t, { cors: { origins: [ALLOWED, OTHER] } })
  const join = async (transports: string[], origin?: string): Promise<ReturnType<typeof client>> =>
    await connected(client(t, url('/'), { transports, extraHeaders: origin === undefined ? {} : { origin }, auth: { token: 'user-token' } }))
  const webSocket = await join(['websocket'], ALLOWED)
  const polling = await join(['polling'], ALLOWED)
  const kept = await join(['websocket'], OTHER)
  const noOrigin = await join(['websocket']) // a non-browser client: no Origin, not required

  const told = [webSocket, polling].map(async (socket) => await waitFor<OriginRevokedPayload>(socket, SERVER_EVENTS.originRevoked, { what: 'the revocation event' }))
  const gone = [webSocket, polling].map(async (socket) => await waitFor<string>(socket, 'disconnect', { what: 'the disconnect' }))
  app.originPolicy.update({ origins: [OTHER] })
  for (const payload of await Promise.all(told)) t.same(payload, { code: ORIGIN_REVOKED, message: 'the server no longer admits this page\'s origin' })
  // The polling client got the reason on its pending poll; the gate then refuses its next request.
  t.same(await Promise.all(gone), ['io server disconnect', 'transport error'])
  t.match(logs.find((line) => line.msg.startsWith('disconnected the sockets')), { sockets: 2, level: 40 })

  // Sentinel: the kept sockets still receive an event sent after the revocation.
  for (const socket of [kept, noOrigin]) {
    const ping = waitFor(socket, 'test:ping', { what: 'an event on a socket that should have stayed' })
    ;(app.io.of('/').sockets.get(socket.id!)!.emit as (event: string) => boolean)('test:ping')
    await ping
    t.ok(socket.connected)
  }
})

t.test('under report-only an update keeps the sockets it would disconnect, and logs them; enforcing then disconnects them', async (t) => {
  const { app, url, logs } = await startApp(t, { cors: { refusal: 'report-only' } })
  const socket = await connected(client(t, url('/'), { transports: ['websocket'], extraHeaders: { origin: ALLOWED }, auth: { token: 'user-token' } }))
  const serverSide = app.io.of('/').sockets.get(socket.id!)!
  app.originPolicy.update({ origins: [OTHER] })
  t.equal(serverSide.connected, true, 'revocation runs inside update(): the socket is still there after it')
  t.match(logs.find((line) => line.msg.startsWith('report-only: would disconnect')), { origin: ALLOWED, sockets: 1, reportOnly: true })

  const told = waitFor(socket, SERVER_EVENTS.originRevoked, { what: 'the revocation event once enforced' })
  app.originPolicy.update({ refusal: 'block' })
  t.same(await told, { code: ORIGIN_REVOKED, message: 'the server no longer admits this page\'s origin' })
  t.match(logs.filter(updated).at(-1), { added: [], removed: [], mode: 'block' })
})

t.test('a bad update throws a CorsConfigError and the old list still decides', async (t) => {
  const { app, origin, logs } = await startApp(t, { cors: { credentials: false }, after: (app) => { app.get('/data', async () => 'data') } })
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ origins: ['not an origin'] }, /^origins/],
    [{ origins: [ALLOWED], credentials: true, methods: '*' }, /"\*" is only a wildcard without credentials/],
    [{ origins: '*' }, /"\*" with the realtime plugin/], // realtime's own check, as at start-up
    [{ origins: [/https:\/\/.*/] }, /admits origins on any domain/],
    [{ refusal: 'nope' }, /report-only/],
    [{ statsOrigins: 5 }, /cannot change while the app runs/],
    [{ origin: [EVIL] }, /rename it to `origins`/]
  ]
  for (const [options, message] of bad) {
    t.throws(() => app.originPolicy.update(options), message)
    t.throws(() => app.originPolicy.update(options), CorsConfigError)
    t.equal((await raw(`${origin}/data`, { headers: { origin: ALLOWED } })).status, 200, `${JSON.stringify(options)}: the old list admits`)
    t.equal((await raw(`${origin}/data`, { headers: { origin: EVIL } })).status, 403, 'and refuses')
  }
  t.equal(logs.filter(updated).length, 0, 'no update was logged')
})

/** A route-level onSend hook that sets Vary itself. */
const setsVary: onSendHookHandler = (_request, reply, payload, done) => {
  reply.header('vary', 'Accept')
  done(null, payload)
}

t.test('Vary is right after an update from "*" to a list and back, whatever the routes\' own hooks', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: '*' })
  app.get('/data', { onSend: setsVary }, async () => 'data')
  app.get('/fails', async () => { throw new Error('boom') })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const get = async (path: string, origin: string): Promise<Awaited<ReturnType<typeof raw>>> => await raw(`${base}${path}`, { headers: { origin } })

  const any = await get('/data', EVIL)
  t.equal(any.headers['access-control-allow-origin'], '*')
  t.equal(any.headers.vary, 'Accept', '"*" does not vary')
  t.equal((await get('/fails', EVIL)).headers.vary, undefined, 'nor does an error response')

  app.originPolicy.update({ origins: [ALLOWED] })
  const listed = await get('/data', ALLOWED)
  t.equal(listed.headers['access-control-allow-origin'], ALLOWED)
  t.equal(listed.headers.vary, 'Accept, Origin', 'a list varies, after the route\'s own Vary')
  t.equal((await get('/data', EVIL)).headers.vary, 'Accept, Origin', 'refusals too')
  const failed = await get('/fails', ALLOWED)
  t.equal(failed.status, 500)
  t.equal(failed.headers.vary, 'Origin', 'and error responses')

  app.originPolicy.update({ origins: '*' })
  const back = await get('/data', EVIL)
  t.equal(back.headers['access-control-allow-origin'], '*')
  t.equal(back.headers.vary, 'Accept', 'back to "*": no Vary: Origin')
})

t.test('with realtime an update cannot switch between "*" and a list, as start-up could not: the gate\'s answers keep their Vary', async (t) => {
  const { app, url } = await startApp(t, { cors: { origins: '*', credentials: false }, realtime: { allowAnyOrigin: true } })
  const jsonp = async (): Promise<Awaited<ReturnType<typeof raw>>> => await raw(`${url()}?EIO=4&transport=polling&j=0`, { headers: { origin: EVIL } })
  const any = await jsonp()
  t.equal(any.status, 403)
  t.equal(any.headers.vary, undefined, '"*": the gate\'s answer does not vary')
  // allowAnyOrigin: realtime refuses a list, exactly as it would at start-up.
  t.throws(() => app.originPolicy.update({ origins: [ALLOWED] }), /allowAnyOrigin: is set, but the origins of corsPolicy are not "\*"/)
  t.equal((await jsonp()).headers.vary, undefined, 'nothing changed')
})

t.test('no cached decision outlives an update: wildcard matches and preflight header checks', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: ['https://*.app.example'] })
  app.put('/data', async () => 'data')
  const sub = 'https://a.app.example'
  const preflight = async (): Promise<unknown> => (await app.inject({
    method: 'OPTIONS', url: '/data', headers: { origin: sub, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-custom' }
  })).headers['access-control-max-age']
  t.equal(app.originPolicy.decide(sub).allowed, true)
  t.equal(app.originPolicy.decide(sub).allowed, true, 'now memoized')
  t.equal(await preflight(), undefined, 'X-Custom is not granted (no max-age: a denied preflight), and that check is memoized')
  app.originPolicy.update({ allowedHeaders: ['X-Custom'] })
  t.equal(await preflight(), '600', 'the header check is made afresh')
  app.originPolicy.update({ origins: [ALLOWED] })
  t.match(app.originPolicy.decide(sub), { allowed: false, reason: 'not-listed' })
  t.equal((await app.inject({ url: '/data', method: 'PUT', headers: { origin: sub } })).statusCode, 403)
})

t.test('the diff names entries by their text, "*" included', async (t) => {
  t.same(diffAllowlists(parseAllowlist('*'), parseAllowlist(['https://a.example', 'https://*.b.example', /https:\/\/c\.example/])),
    { added: ['https://a.example', 'https://*.b.example', '/https:\\/\\/c\\.example/'], removed: ['*'] })
})

t.test('an update is logged with the warnings of the new list', async (t) => {
  const { logs, stream } = logCollector()
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [ALLOWED] })
  app.originPolicy.update({ maxAge: 7201 })
  t.match(logs.find((line) => line.level === 40), { source: 'update()', msg: /exceeds Chromium's cap/ })
})
