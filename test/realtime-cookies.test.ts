import fastifyCookie from '@fastify/cookie'
import t, { type Test } from 'tap'
import type { FastifyCookieOptions } from '@fastify/cookie'
import Fastify, { type FastifyInstance } from 'fastify'
import { corsPolicy } from '../plugins/cors.js'
import { realtime } from '../plugins/realtime.js'
import type { RealtimeOptions, SocketHandshake } from '../plugins/realtime-types.js'
import { ALLOWED, COOKIE_SECRET, USERS, client, connected, connectError, raw, registrationError, startApp, type RealtimeApp } from './helpers/realtime.js'

const seenBy = (seen: SocketHandshake[]): Partial<RealtimeOptions> => ({
  authenticate: (handshake) => {
    seen.push(handshake)
    const session = handshake.signedCookies.session
    return session === undefined ? undefined : USERS[session]
  }
})

/** Connects with a signed and a forged cookie; the signed one must be verified, the forged one not. */
async function checkSignedCookies (t: Test, { origin }: RealtimeApp, seen: SocketHandshake[]): Promise<void> {
  const signed = fastifyCookie.sign('admin-token', COOKIE_SECRET)
  const socket = await connected(client(t, origin, { extraHeaders: { origin: ALLOWED, cookie: `session=${signed}; theme=dark` } }))
  t.ok(socket.connected, 'a cookie signed with the secret authenticates')
  t.same(seen[0]?.signedCookies, { session: 'admin-token' })
  t.same(seen[0]?.cookies, { session: signed, theme: 'dark' })
  const error = await connectError(client(t, origin, { extraHeaders: { origin: ALLOWED, cookie: 'session=admin-token.forged' } }))
  t.equal(error.message, 'unauthorized', 'a forged signature does not')
}

t.test('@fastify/cookie registered BEFORE realtime: its secret verifies the handshake\'s signed cookies', async (t) => {
  const seen: SocketHandshake[] = []
  const app = await startApp(t, { before: async (app) => { await app.register(fastifyCookie, { secret: COOKIE_SECRET }) }, realtime: seenBy(seen) })
  await checkSignedCookies(t, app, seen)
})

t.test('@fastify/cookie registered AFTER realtime: the app starts, and its secret verifies the handshake\'s signed cookies', async (t) => {
  const seen: SocketHandshake[] = []
  const app = await startApp(t, {
    realtime: seenBy(seen),
    after: async (app) => {
      await app.register(fastifyCookie, { secret: COOKIE_SECRET })
      app.get('/set', async (_request, reply) => { reply.setCookie('session', 'admin-token', { signed: true }); return 'set' })
    }
  })
  await checkSignedCookies(t, app, seen)
  // The host's own plugin serves its routes: a cookie it signs is one the handshake accepts.
  const set = await raw(app.url('/set'), { headers: { origin: ALLOWED } })
  const cookie = String(set.headers['set-cookie']).split(';')[0]!
  t.match(cookie, /^session=admin-token\./)
  t.ok((await connected(client(t, app.origin, { extraHeaders: { origin: ALLOWED, cookie } }))).connected)
})

t.test('@fastify/cookie registered after realtime without awaiting each register() works too', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(corsPolicy, { origins: [ALLOWED] })
  app.register(realtime, { authenticate: () => undefined, isAdmin: () => false })
  app.register(fastifyCookie, { secret: COOKIE_SECRET })
  await t.resolves(async () => { await app.ready() }, 'no FST_ERR_DEC_ALREADY_PRESENT')
  t.ok(app.hasDecorator('unsignCookie'), 'the host\'s plugin is the one registered')
})

t.test('cookiePlugin beside the host\'s own @fastify/cookie is refused: only one secret may decide', async (t) => {
  for (const order of ['before', 'after'] as const) {
    const register = (app: FastifyInstance): void => { app.register(fastifyCookie, { secret: COOKIE_SECRET }) }
    const error = await registrationError({ authenticate: () => undefined, isAdmin: () => false, cookiePlugin: { secret: 'another-secret-of-enough-length' } }, { [order]: register })
    t.match(error, { name: 'CorsConfigError', setting: 'cookiePlugin', message: /the host registers @fastify\/cookie too/, fix: /remove cookiePlugin/ }, order)
  }
})

t.test('cookiePlugin takes only what reading cookies uses, and a bad secret fails at registration', async (t) => {
  const base = { authenticate: () => undefined, isAdmin: () => false }
  t.match(await registrationError({ ...base, cookiePlugin: { hook: 'onRequest' } }), {
    name: 'CorsConfigError', setting: 'cookiePlugin.hook', message: /parses no request's cookies/, fix: /cookiePlugin takes secret, algorithm, parseOptions/
  })
  t.match(await registrationError({ ...base, cookiePlugin: { secrets: 'x' } }), { setting: 'cookiePlugin.secrets', fix: /rename it to `secret`/ })
  t.match(await registrationError({ ...base, cookiePlugin: { secret: 42 } }), {
    name: 'CorsConfigError', setting: 'cookiePlugin', message: /Secret key must be a string or Buffer \(@fastify\/cookie's signer\)/, fix: /"sha256"/
  })
  t.match(await registrationError({ ...base, cookiePlugin: { secret: COOKIE_SECRET, algorithm: 'nope' } }), { setting: 'cookiePlugin', message: /Algorithm nope not supported/ })
})

t.test('cookiePlugin accepts a ready-made signer and parse options', async (t) => {
  const seen: SocketHandshake[] = []
  const app = await startApp(t, {
    realtime: { ...seenBy(seen), cookiePlugin: { secret: fastifyCookie.signerFactory(COOKIE_SECRET), parseOptions: { decode: (value: string) => value.toUpperCase() } as FastifyCookieOptions['parseOptions'] } }
  })
  const signed = fastifyCookie.sign('admin-token', COOKIE_SECRET)
  await connectError(client(t, app.origin, { extraHeaders: { origin: ALLOWED, cookie: `theme=dark; session=${signed}` } }))
  t.equal(seen[0]?.cookies.theme, 'DARK', 'the decode of parseOptions ran')
  t.equal(seen[0]?.signedCookies.session, undefined, 'and the upper-cased signature no longer verifies: the signer ran on what parse gave')
})
