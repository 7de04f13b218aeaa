import fastifyCookie from '@fastify/cookie'
import t from 'tap'
import type { SocketHandshake } from '../plugins/realtime-types.js'
import { CONNECT_ERRORS } from '../plugins/socket-auth.js'
import {
  ALLOWED, COOKIE_SECRET, USERS, client, connectError, connected, raw, startApp, until
} from './helpers/realtime.js'

const opts = (extra: Record<string, unknown> = {}) => ({ extraHeaders: { origin: ALLOWED }, ...extra })

for (const transport of ['polling', 'websocket'] as const) {
  t.test(`${transport}: no user → connect_error "unauthorized", no namespace connection`, async (t) => {
    const { origin, counters } = await startApp(t)
    const error = await connectError(client(t, origin, opts({ transports: [transport] })))
    t.equal(error.message, CONNECT_ERRORS.unauthorized)
    t.equal(error.message, 'unauthorized')
    t.equal(counters.namespaces.get('/') ?? 0, 0)
    t.equal(counters.engine, 1, 'the origin was fine; only the namespace was refused')
  })
}

t.test('authenticate sees cookies, verified signed cookies, auth, address and namespace; the user becomes socket.data.user', async (t) => {
  const seen: SocketHandshake[] = []
  const { origin, app, app: { signCookie } } = await startApp(t, {
    before: async (app) => { await app.register(fastifyCookie, { secret: COOKIE_SECRET }) },
    realtime: {
      authenticate: (handshake) => {
        seen.push(handshake)
        const session = handshake.signedCookies.session
        return session === undefined ? undefined : USERS[session]
      }
    }
  })
  const signed = signCookie('admin-token')
  const socket = await connected(client(t, origin, opts({ transports: ['websocket'], auth: { hello: 1 }, extraHeaders: { origin: ALLOWED, cookie: `session=${signed}; theme=dark` } })))
  t.ok(socket.connected)
  const [handshake] = seen
  t.same(handshake?.cookies, { session: signed, theme: 'dark' })
  t.same(handshake?.signedCookies, { session: 'admin-token' }, 'only validly signed cookies, unsigned')
  t.same(handshake?.auth, { hello: 1 })
  t.equal(handshake?.namespace, '/')
  t.match(handshake?.address, /127\.0\.0\.1/)
  t.equal(handshake?.headers.origin, ALLOWED)
  const [serverSocket] = await app.io.fetchSockets()
  t.equal(serverSocket?.data.user.id, 'u-admin')
})

t.test('a forged signature is not a signed cookie', async (t) => {
  const { origin } = await startApp(t, {
    realtime: { cookiePlugin: { secret: COOKIE_SECRET } }
  })
  const error = await connectError(client(t, origin, opts({ extraHeaders: { origin: ALLOWED, cookie: 'session=admin-token.forgedsignature' } })))
  t.equal(error.message, 'unauthorized')
})

t.test('without @fastify/cookie on the host, cookiePlugin\'s secret verifies signed cookies, and no cookie plugin is registered', async (t) => {
  const { origin, app } = await startApp(t, { realtime: { cookiePlugin: { secret: COOKIE_SECRET } } })
  t.notOk(app.hasDecorator('parseCookie'), 'the host may still register @fastify/cookie itself')
  const signed = fastifyCookie.sign('user-token', COOKIE_SECRET)
  const socket = await connected(client(t, origin, opts({ extraHeaders: { origin: ALLOWED, cookie: `session=${signed}` } })))
  t.ok(socket.connected)
})

t.test('without a cookie secret, cookies are parsed and no cookie counts as signed', async (t) => {
  const seen: SocketHandshake[] = []
  const { origin } = await startApp(t, { realtime: { authenticate: (handshake) => { seen.push(handshake); return undefined } } })
  await connectError(client(t, origin, opts({ extraHeaders: { origin: ALLOWED, cookie: 'session=user-token' } })))
  await connectError(client(t, origin, opts()))
  t.same(seen[0]?.cookies, { session: 'user-token' })
  t.same(seen[0]?.signedCookies, {})
  t.same(seen[1]?.cookies, {}, 'no Cookie header')
})

t.test('an async authenticate works; one that throws refuses with "server-error" and logs', async (t) => {
  const { origin, logs, counters } = await startApp(t, {
    realtime: {
      authenticate: async (handshake) => {
        if (handshake.auth.token === 'boom') throw new Error('database down')
        return await Promise.resolve(USERS[handshake.auth.token as string] ?? null)
      }
    }
  })
  t.ok((await connected(client(t, origin, opts({ auth: { token: 'user-token' } })))).connected)
  t.equal((await connectError(client(t, origin, opts({ auth: { token: 'nobody' } })))).message, 'unauthorized', 'null is no user')
  t.equal((await connectError(client(t, origin, opts({ auth: { token: 'boom' } })))).message, 'server-error')
  t.match(logs.find((line) => line.msg === 'authenticate threw; connection refused'), { level: 50, err: { message: 'database down' }, namespace: '/' })
  t.equal(counters.namespaces.get('/'), 1)
})

t.test('the dashboard namespace: admins join, others get "forbidden", unauthenticated "unauthorized"', async (t) => {
  const { origin, counters } = await startApp(t)
  const admin = await connected(client(t, `${origin}/admin`, opts({ auth: { token: 'admin-token' } })))
  t.ok(admin.connected)
  t.equal((await connectError(client(t, `${origin}/admin`, opts({ auth: { token: 'user-token' } })))).message, 'forbidden')
  t.equal((await connectError(client(t, `${origin}/admin`, opts()))).message, 'unauthorized')
  t.equal(counters.namespaces.get('/admin'), 1)
})

t.test('isAdmin may be async; if it throws the connection is refused with "server-error" and logged', async (t) => {
  const { origin, logs, counters } = await startApp(t, {
    realtime: {
      isAdmin: async (user) => {
        if (user.id === 'u-user') throw new Error('directory down')
        return true
      }
    }
  })
  t.ok((await connected(client(t, `${origin}/admin`, opts({ auth: { token: 'admin-token' } })))).connected)
  t.equal((await connectError(client(t, `${origin}/admin`, opts({ auth: { token: 'user-token' } })))).message, 'server-error')
  t.match(logs.find((line) => line.msg === 'isAdmin threw; connection refused'), { level: 50, userId: 'u-user' })
  t.equal(counters.namespaces.get('/admin'), 1)
})

t.test('namespaces created after registration are authenticated too', async (t) => {
  const { origin, app } = await startApp(t)
  const chat = app.io.of('/chat')
  let connections = 0
  chat.on('connection', (socket) => { connections++; t.equal(socket.data.user.id, 'u-user') })
  t.equal((await connectError(client(t, `${origin}/chat`, opts()))).message, 'unauthorized')
  t.ok((await connected(client(t, `${origin}/chat`, opts({ auth: { token: 'user-token' } })))).connected)
  t.equal(connections, 1)
})

t.test('verifyHandshake runs after the origin check, on handshakes; false, a rejection or a throw refuses', async (t) => {
  const calls: Array<string | undefined> = []
  const { url, origin, logs, counters } = await startApp(t, {
    realtime: {
      verifyHandshake: async (request) => {
        calls.push(request.headers['x-client'] as string | undefined)
        if (request.headers['x-client'] === 'throw') throw new Error('check failed')
        return request.headers['x-client'] === 'good'
      }
    }
  })
  const handshake = (headers: Record<string, string>) => raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED, ...headers } })
  t.equal((await handshake({ 'x-client': 'good' })).status, 200)
  const refused = await handshake({ 'x-client': 'bad' })
  t.equal(refused.status, 403)
  t.same(JSON.parse(refused.body), { code: 4, message: 'Forbidden' })
  t.equal(refused.headers['access-control-allow-origin'], ALLOWED, 'the refusal is readable by the allowed page')
  t.equal((await handshake({ 'x-client': 'throw' })).status, 403)
  t.match(logs.find((line) => line.msg === 'verifyHandshake threw; handshake refused'), { level: 50, err: { message: 'check failed' } })
  // A refused origin never reaches it.
  t.equal((await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example', 'x-client': 'good' } })).status, 403)
  t.same(calls, ['good', 'bad', 'throw'])
  const socket = await connected(client(t, origin, opts({ transports: ['websocket'], auth: { token: 'user-token' }, extraHeaders: { origin: ALLOWED, 'x-client': 'good' } })))
  t.ok(socket.connected)
  await until(() => counters.engine === 2, 2000, 'engine connections')
})

t.test('connections and disconnections are logged with user id, namespace and reason', async (t) => {
  const { origin, logs } = await startApp(t)
  const socket = await connected(client(t, origin, opts({ transports: ['websocket'], auth: { token: 'user-token' } })))
  const id = socket.id
  socket.disconnect()
  await until(() => logs.some((line) => line.msg === 'socket disconnected'), 2000, 'disconnect log')
  t.match(logs.find((line) => line.msg === 'socket connected'), { level: 30, namespace: '/', socketId: id, userId: 'u-user', transport: 'websocket', recovered: false })
  t.match(logs.find((line) => line.msg === 'socket disconnected'), { level: 30, namespace: '/', socketId: id, userId: 'u-user', reason: 'client namespace disconnect' })
})
