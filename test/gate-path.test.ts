import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { CorsConfigError } from '../lib/errors.js'
import { corsPolicy } from '../plugins/cors.js'
import { routePathsOf } from '../plugins/engine-gate.js'
import { realtime } from '../plugins/realtime.js'
import type { RealtimeOptions } from '../plugins/realtime-types.js'
import { ALLOWED, client, connected, raw, registrationError, startApp, type RegistrationSetup } from './helpers/realtime.js'

const base: RealtimeOptions = { authenticate: () => undefined, isAdmin: () => false }

/** The error startup fails with for these realtime options and routes before/after it, if any. */
async function startupError (options: Partial<RealtimeOptions>, routes: Pick<RegistrationSetup, 'before' | 'after'> = {}): Promise<unknown> {
  return await registrationError({ ...base, ...options }, routes)
}

const ok = (): string => 'ok'

t.test('an app route under the engine path, registered before realtime, fails startup naming route, path and fix', async (t) => {
  const error = await startupError({}, { before: (app) => { app.get('/socket.io/health', ok) } })
  t.type(error, CorsConfigError)
  t.equal((error as CorsConfigError).setting, 'path')
  t.match((error as Error).message, /\/socket\.io\/health/)
  t.match((error as Error).message, /Socket\.IO path \/socket\.io\//)
  t.match((error as CorsConfigError).fix, /move the route out of \/socket\.io\/, or give realtime another `path`/)
})

t.test('an app route under the engine path, registered after realtime, is refused where it is added', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [ALLOWED] })
  await app.register(realtime, base)
  t.throws(() => app.get('/socket.io/:room/stats', ok), { name: 'CorsConfigError', setting: 'path', message: /\/socket\.io\/:room\/stats/ })
  t.throws(() => app.post('/socket.io/', ok), { name: 'CorsConfigError' })
})

t.test('routes under the engine path in encapsulated plugins fail startup too, before or after', async (t) => {
  const inPlugin = (app: FastifyInstance): void => { app.register(async (child) => { child.get('/health', ok) }, { prefix: '/socket.io' }) }
  t.type(await startupError({}, { before: inPlugin }), CorsConfigError)
  t.type(await startupError({}, { after: inPlugin }), CorsConfigError)
})

t.test('a path that swallows app routes fails startup', async (t) => {
  const error = await startupError({ path: '/api/' }, { before: (app) => { app.get('/api/me', ok) } })
  t.type(error, CorsConfigError)
  t.match((error as Error).message, /the route \/api\/me lies under the Socket\.IO path \/api\//)
  t.type(await startupError({ path: '/api' }, { after: (app) => { app.get('/api/me', ok) } }), CorsConfigError)
})

t.test('routes beside the engine path are fine: its bare name, look-alikes, catch-alls and parameters', async (t) => {
  const routes = (app: FastifyInstance): void => {
    app.get('/socket.io', ok)
    app.get('/socket.iox/a', ok)
    app.get('/sock', ok)
    app.get('/*', ok)
    app.get('/:id/health', ok)
  }
  t.equal(await startupError({}, { before: routes }), undefined)
  t.equal(await startupError({}, { after: routes }), undefined)
})

t.test('with addTrailingSlash: false every route that starts with the path is under it', async (t) => {
  t.type(await startupError({ addTrailingSlash: false }, { before: (app) => { app.get('/socket.iox', ok) } }), CorsConfigError)
  t.type(await startupError({ addTrailingSlash: false }, { before: (app) => { app.get('/socket.io', ok) } }), CorsConfigError)
})

t.test('a path that is not a URL path is refused with a clear error', async (t) => {
  for (const path of ['socket.io', '/socket.io?x=1', '/socket io', '/socket.io#frag', '/socket.io\n']) {
    const error = await startupError({ path })
    t.type(error, CorsConfigError, JSON.stringify(path))
    t.equal((error as CorsConfigError).setting, 'path')
    t.match((error as Error).message, /is not a URL path .*must start with "\/"/)
  }
})

t.test('a path that is not a non-empty string is refused before socket.io or any hook sees it, naming path and fix', async (t) => {
  for (const path of [42, true, {}, null, '']) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(corsPolicy, { origins: [ALLOWED] })
    const listeners = app.server.listenerCount('upgrade')
    const error = await app.register(realtime, { ...base, path } as unknown as RealtimeOptions).ready().then(() => undefined, (error: unknown) => error)
    t.type(error, CorsConfigError, `${String(path)}: a CorsConfigError, not socket.io's TypeError`)
    t.equal((error as CorsConfigError).setting, 'path')
    t.match((error as Error).message, path === '' ? /is empty, not a URL path/ : new RegExp(`is a ${typeof path}, not a URL path string`))
    t.match((error as CorsConfigError).fix, /pass a string such as `path: '\/socket\.io'`/)
    t.equal(app.server.listenerCount('upgrade'), listeners, 'no gate installed')
    t.notOk(app.hasDecorator('parseCookie'), '@fastify/cookie not registered')
  }
})

t.test('realtime in two sibling contexts with the same or an overlapping path: the second fails before any effect; other paths are fine', async (t) => {
  const cases: Array<[Partial<RealtimeOptions>, Partial<RealtimeOptions>, RegExp | undefined]> = [
    [{}, {}, /\/socket\.io\/ overlaps \/socket\.io\//],
    [{ path: '/rt' }, { path: '/rt/' }, /\/rt\/ overlaps \/rt\//],
    [{ path: '/rt', addTrailingSlash: false }, { path: '/rt2' }, /\/rt2\/ overlaps \/rt,/],
    [{ path: '/rt/live' }, { path: '/rt', addTrailingSlash: false }, /\/rt overlaps \/rt\/live\//],
    [{ path: '/one' }, { path: '/two' }, undefined],
    [{ path: '/rt' }, { path: '/rt2' }, undefined]
  ]
  for (const [first, second, overlap] of cases) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(corsPolicy, { origins: [ALLOWED] })
    await app.register(async (child) => { await child.register(realtime, { ...base, ...first }) })
    const listeners = app.server.listenerCount('upgrade')
    const engines: unknown[] = []
    app.register(async (child) => {
      await child.register(realtime, { ...base, ...second })
      engines.push(child.io.engine)
    })
    const error = await app.ready().then(() => undefined, (error: unknown) => error)
    const what = `${JSON.stringify(first)} then ${JSON.stringify(second)}`
    if (overlap === undefined) {
      t.equal(error, undefined, `${what}: both registered`)
      t.equal(engines.length, 1)
      continue
    }
    t.type(error, CorsConfigError, what)
    t.equal((error as CorsConfigError).setting, 'path')
    t.match((error as Error).message, overlap)
    t.match((error as Error).message, /another realtime registration on the same HTTP server/)
    t.match((error as CorsConfigError).fix, /register realtime once .*or give each registration a `path` that does not start with the other's/)
    t.equal(app.server.listenerCount('upgrade'), listeners, 'no second gate installed')
    t.same(engines, [], 'no second Socket.IO server')
  }
})

t.test('addTrailingSlash: false on both sides: polling and WebSocket clients connect, behind the gate', async (t) => {
  const { url, origin, counters } = await startApp(t, { realtime: { addTrailingSlash: false } })
  for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
    const socket = client(t, origin, { addTrailingSlash: false, transports, extraHeaders: { origin: ALLOWED }, auth: { token: 'user-token' } })
    await connected(socket)
    t.ok(socket.connected, transports.join('+'))
  }
  t.equal(counters.namespaces.get('/'), 3)
  const refused = await raw(`${url('/socket.io')}?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example' } })
  t.equal(refused.status, 403, 'the slash-less URL is gated')
  t.match(JSON.parse(refused.body), { code: 'ORIGIN_REFUSED' })
})

t.test('routePathsOf reads every route path of Fastify\'s printRoutes() tree', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const paths = ['/', '/socket.io/health', '/socket.io/:room/stats', '/socket.iox', '/api/me', '/api/:id', '/files/*', '/v/:a-:b']
  for (const path of paths) app.get(path, ok)
  app.get('/versioned', { constraints: { version: '1.0.0' } }, ok)
  app.get('/versioned', { constraints: { version: '2.0.0' } }, ok)
  app.register(async (child) => { child.post('/x', ok) }, { prefix: '/p' })
  await app.ready()
  t.same(new Set(routePathsOf(app.printRoutes())), new Set([...paths, '/versioned', '/p/x']))
})
