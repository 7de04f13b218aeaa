// What fastify-socket.io users rely on (its README: the `io` decorator, sockets disconnected in a
// preClose hook before the server stops, the socket.io server closed on close), and its options.
import t from 'tap'
import { Server } from 'socket.io'
import { ALLOWED, USERS, client, connected, raw, registrationError, startApp, waitFor, within } from './helpers/realtime.js'

const base = { authenticate: () => USERS['admin-token'], isAdmin: () => true }

t.test('fastify.io is a socket.io Server: io.on("connection") sees real clients and io.emit reaches them', async (t) => {
  const { app, origin } = await startApp(t)
  t.ok(app.io instanceof Server)
  const untyped = app.io as unknown as Server
  const seen = waitFor<unknown>(untyped, 'connection', { what: 'io.on("connection")' })
  const socket = await connected(client(t, origin, { auth: { token: 'admin-token' }, extraHeaders: { origin: ALLOWED } }))
  await seen
  const hello = waitFor<unknown>(socket, 'hello', { what: 'the io.emit() broadcast' })
  untyped.emit('hello', { from: 'server' })
  t.same(await hello, { from: 'server' })
})

t.test('app.close() disconnects every socket ("io server disconnect") before the HTTP server stops, as fastify-socket.io\'s preClose does', async (t) => {
  const events: string[] = []
  const { app, origin, url } = await startApp(t, {
    closeOnTeardown: false,
    // A host preClose hook registered before realtime runs first, while the sockets are still connected:
    // the replacement for fastify-socket.io's `preClose` option.
    before: (app) => { app.addHook('preClose', async () => { events.push(`host preClose: ${app.io.engine.clientsCount} connected`) }) }
  })
  const sockets = await Promise.all([1, 2].map(async () => await connected(client(t, origin, { auth: { token: 'admin-token' }, extraHeaders: { origin: ALLOWED } }))))
  const reasons = sockets.map(async (socket) => await waitFor<string>(socket, 'disconnect', { what: 'the disconnect' }).then((reason) => { events.push(`client: ${reason}`) }))
  await within(app.close().then(() => { events.push('close resolved') }), 'app.close()')
  await Promise.all(reasons)
  t.same(events, ['host preClose: 2 connected', 'client: io server disconnect', 'client: io server disconnect', 'close resolved'])
  await t.rejects(raw(url()), { code: 'ECONNREFUSED' }, 'the server has stopped')
})

t.test('fastify-socket.io\'s options that this plugin owns are refused with a pointer', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['cors', { origin: '*' }, /CORS headers come from the corsPolicy plugin's options/],
    ['allowRequest', () => true, /put your own handshake check in `verifyHandshake`/],
    ['preClose', (done: () => void) => { done() }, /add `app.addHook\('preClose', …\)` before registering realtime/]
  ]
  for (const [name, value, fix] of cases) {
    t.match(await registrationError({ ...base, [name]: value }), { name: 'CorsConfigError', setting: name, message: /is set by this plugin/, fix }, name)
  }
})
