import fastifyCookie from '@fastify/cookie'
import t from 'tap'
import type { SocketHandshake } from '../plugins/realtime-types.js'
import { ALLOWED, COOKIE_SECRET, client, connectError, connected, rawPolling, startApp, until, within } from './helpers/realtime.js'

const opts = (token: string) => ({ extraHeaders: { origin: ALLOWED }, auth: { token } })

t.test('authenticate returning anything but a user refuses with "unauthorized", and warns once naming the type', async (t) => {
  const values: Record<string, unknown> = {
    false: false, zero: 0, empty: '', true: true, object: {}, 'empty-id': { id: '' }, 'number-id': { id: 5 }, array: ['u-user'], null: null, undefined
  }
  const { origin, logs, counters } = await startApp(t, {
    realtime: { authenticate: (handshake) => values[handshake.auth.token as string] as never }
  })
  for (const token of Object.keys(values)) {
    const error = await connectError(client(t, origin, opts(token)))
    t.equal(error.message, 'unauthorized', `${token} is no user`)
  }
  t.equal(counters.namespaces.get('/') ?? 0, 0, 'nobody connected')
  const warnings = logs.filter((line) => line.level === 40 && /^authenticate returned/.test(line.msg))
  t.equal(warnings.length, 1, 'one warning, not one per connection')
  t.match(warnings[0], { type: 'boolean', msg: /authenticate returned a value of type boolean, not a user/ })
})

t.test('isAdmin admits only on true: a truthy non-boolean refuses with "forbidden", and warns once naming the type', async (t) => {
  let answer: unknown
  const { origin, logs } = await startApp(t, { realtime: { isAdmin: () => answer as boolean } })
  for (const value of ['false', { admin: false }, 1, 'yes']) {
    answer = value
    const error = await connectError(client(t, `${origin}/admin`, opts('admin-token')))
    t.equal(error.message, 'forbidden', `${JSON.stringify(value)} is not true`)
  }
  answer = true
  await connected(client(t, `${origin}/admin`, opts('admin-token')))
  const warnings = logs.filter((line) => line.level === 40 && /^isAdmin returned/.test(line.msg))
  t.equal(warnings.length, 1, 'one warning, not one per connection')
  t.match(warnings[0], { type: 'string' })
})

t.test('a null or undefined user refuses without a warning', async (t) => {
  const { origin, logs } = await startApp(t, { realtime: { authenticate: (handshake) => handshake.auth.token === 'null' ? null : undefined } })
  t.equal((await connectError(client(t, origin, opts('null')))).message, 'unauthorized')
  t.equal((await connectError(client(t, origin, opts('undefined')))).message, 'unauthorized')
  t.notOk(logs.some((line) => /^authenticate returned/.test(line.msg)))
})

t.test('cookies are parsed and unsigned once per engine.io connection, however many CONNECTs it sends', async (t) => {
  let parsed = 0
  let unsigned = 0
  const seen: SocketHandshake[] = []
  const app = await startApp(t, {
    before: async (app) => {
      await app.register(fastifyCookie, { secret: COOKIE_SECRET })
      const { parseCookie, unsignCookie } = app
      app.parseCookie = (header) => { parsed++; return parseCookie(header) }
      app.unsignCookie = (value) => { unsigned++; return unsignCookie(value) }
    },
    realtime: {
      isAdmin: () => true,
      authenticate: (handshake) => {
        seen.push(handshake)
        return { id: handshake.signedCookies.session ?? 'nobody', name: 'Cookie', role: 'user' as const }
      }
    },
    after: (app) => { app.io.of('/chat') }
  })
  const cookie = `session=${app.app.signCookie('u-1')}; theme=dark; lang=en`
  const session = await rawPolling(app.url(), { origin: ALLOWED, cookie })
  await session.post(['40', '40/admin,', '40/chat,', '40/chat,'])
  await session.pollUntil((got) => got.filter((packet) => /^40[/{]/.test(packet)).length === 4, 'four CONNECTs answered')
  t.equal(seen.length, 4, 'authenticate ran for each CONNECT')
  t.equal(parsed, 1, 'the Cookie header was parsed once')
  t.equal(unsigned, 3, 'each of the three cookies was unsigned once')
  t.same(seen.map((handshake) => handshake.signedCookies.session), ['u-1', 'u-1', 'u-1', 'u-1'])
  t.same(seen.map((handshake) => handshake.namespace), ['/', '/admin', '/chat', '/chat'])
  t.ok(Object.isFrozen(seen[0]!.cookies) && Object.isFrozen(seen[0]!.signedCookies), 'shared, so frozen')

  // Another connection parses its own handshake.
  await connected(client(t, app.origin, { extraHeaders: { origin: ALLOWED, cookie } }))
  t.equal(parsed, 2)
})

t.test('a connection holds at most maxNamespacesPerConnection sockets; further CONNECTs are refused', async (t) => {
  const app = await startApp(t, { realtime: { maxNamespacesPerConnection: 3 } })
  const session = await rawPolling(app.url())
  await session.post(Array.from({ length: 5 }, () => '40{"token":"user-token"}'))
  const packets = await session.pollUntil((got) => got.filter((packet) => /^4[04]\{/.test(packet)).length === 5, 'five answers')
  t.equal(packets.filter((packet) => packet.startsWith('40{"sid"')).length, 3, 'three sockets')
  t.equal(packets.filter((packet) => packet === '44{"message":"too-many-namespaces"}').length, 2, 'two refused')
  t.equal(app.app.io.of('/').sockets.size, 3)
  t.match(app.logs.find((line) => /more namespace sockets than maxNamespacesPerConnection; refused/.test(line.msg)), { level: 40, limit: 3, refused: 1 })

  // A socket that leaves frees its place.
  const [first] = [...app.app.io.of('/').sockets.values()]
  first!.disconnect()
  await session.post(['40{"token":"user-token"}'])
  await session.pollUntil((got) => got.filter((packet) => packet.startsWith('40{"sid"')).length === 4, 'a fourth socket')
  t.equal(app.app.io.of('/').sockets.size, 3)
})

t.test('a connection that keeps sending CONNECTs beyond the bound is closed', async (t) => {
  const app = await startApp(t, { realtime: { maxNamespacesPerConnection: 2 } })
  const session = await rawPolling(app.url())
  const closed = new Promise<string>((resolve) => { (app.app.io.engine as unknown as { clients: Record<string, { once: (event: 'close', listener: (reason: string) => void) => void }> }).clients[session.sid]?.once('close', resolve) })
  await session.post(Array.from({ length: 50 }, () => '40{"token":"user-token"}'))
  // A polling session closes on the client's next GET, which gets the close packet.
  await session.pollUntil((got) => got.includes('1'), 'the close packet')
  t.equal(await within(closed, 'the connection to close'), 'forced close')
  t.match(app.logs.find((line) => /kept asking for more namespace sockets than maxNamespacesPerConnection; closed/.test(line.msg)), { level: 40, limit: 2, refused: 2 })
  t.equal(app.logs.filter((line) => /maxNamespacesPerConnection; refused/.test(line.msg)).length, 1, 'logged once per connection')
  await until(() => app.app.io.of('/').sockets.size === 0, 2000, 'the sockets of the closed connection to go')
  t.equal(app.counters.namespaces.get('/') ?? 0, 0, 'the two first sockets never connected: their authentication ended with the connection')
})
