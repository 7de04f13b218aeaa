import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import Fastify, { type FastifyContextConfig, type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify'
import { corsPolicy } from '../plugins/cors.js'
import type { CorsPolicyOptions } from '../lib/config.js'
import { raw } from './helpers/realtime.js'

const APP = 'https://app.example.com'
const ADMIN = 'https://admin.example.com'
const EVIL = 'https://evil.example'

interface TestApp {
  app: FastifyInstance
  /** How many times each route's handler ran, by a name the test gives it. */
  ran: Record<string, number>
  warnings: Array<Record<string, unknown>>
}

/** An app with the plugin and routes with their own CORS config; each handler counts its runs. */
async function build (t: Test, options: CorsPolicyOptions = {}, server: FastifyServerOptions = {}): Promise<TestApp> {
  const warnings: Array<Record<string, unknown>> = []
  const app = Fastify({ ...server, logger: { level: 'warn', stream: { write: (line: string) => { warnings.push(JSON.parse(line) as Record<string, unknown>) } } } })
  t.teardown(() => app.close())
  const ran: Record<string, number> = {}
  const counted = (name: string) => async () => { ran[name] = (ran[name] ?? 0) + 1; return name }
  await app.register(corsPolicy, { origins: [APP], ...options })
  app.get('/data', counted('data'))
  app.delete('/data', counted('delete-data'))
  app.get('/private', { config: { cors: false } }, counted('private'))
  app.delete('/private', { config: { cors: false } }, counted('delete-private'))
  app.route({ method: ['PUT', 'DELETE'], url: '/admin', config: { cors: { origins: [ADMIN], credentials: true, methods: ['PUT', 'DELETE'], allowedHeaders: ['X-Admin-Token'], exposedHeaders: ['X-Audit-Id'], maxAge: 60, cacheControl: 60 } }, handler: counted('admin') })
  app.get('/admin', { config: { cors: { origins: [ADMIN] } } }, counted('admin-get'))
  app.get('/users/me', counted('me'))
  app.delete('/users/:id', { config: { cors: false } }, counted('delete-user'))
  app.put('/files/:name.json', { config: { cors: { origins: [ADMIN] } } }, counted('put-json'))
  app.put('/files/:name', counted('put-file'))
  app.delete('/static/*', { config: { cors: false } }, counted('delete-static'))
  app.options('/own-options', async () => 'options handler')
  app.patch('/own-options', { config: { cors: { origins: [ADMIN] } } }, counted('patch-own'))
  app.post('/omit', { config: { cors: { refusal: 'omit-headers' } } }, counted('omit'))
  app.post('/omit-off', { config: { cors: false, corsRefusal: 'omit-headers' } }, counted('omit-off'))
  app.register(async (child) => {
    child.delete('/thing', { config: { cors: { origins: [ADMIN] } } }, counted('prefixed'))
  }, { prefix: '/api' })
  await app.ready()
  return { app, ran, warnings }
}

function grants (response: LightMyRequestResponse | { headers: Record<string, unknown> }): string[] {
  return Object.keys(response.headers).filter((name) => name.startsWith('access-control-')).sort()
}

async function preflight (app: FastifyInstance, url: string, origin: string, method: string, requestHeaders?: string): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'OPTIONS', url, headers: { origin, 'access-control-request-method': method, ...(requestHeaders === undefined ? {} : { 'access-control-request-headers': requestHeaders }) } })
}

t.test('config.cors false: an allowed origin is served without any grant header, and the response still varies on Origin', async (t) => {
  const { app, ran } = await build(t)
  const response = await app.inject({ url: '/private', headers: { origin: APP } })
  t.equal(response.statusCode, 200)
  t.same(grants(response), [], 'no CORS header')
  t.equal(response.headers.vary, 'Origin')
  t.equal(ran.private, 1)
  // The control: the same origin on a route without config gets its grant.
  t.equal((await app.inject({ url: '/data', headers: { origin: APP } })).headers['access-control-allow-origin'], APP)
})

t.test('config.cors false: a refused origin is still blocked before the handler (refusal "block")', async (t) => {
  const { app, ran } = await build(t)
  const response = await app.inject({ url: '/private', headers: { origin: EVIL } })
  t.equal(response.statusCode, 403)
  t.same(grants(response), [])
  t.equal(ran.private, undefined, 'the handler did not run')
})

t.test('config.cors false: a preflight asking about the route is refused, even from an allowed origin', async (t) => {
  const { app, ran } = await build(t)
  const response = await preflight(app, '/private', APP, 'DELETE')
  t.equal(response.statusCode, 403)
  t.same(grants(response), [], 'no grant: the browser never sends the DELETE')
  t.equal(ran['delete-private'], undefined)
  t.equal((await preflight(app, '/private', EVIL, 'DELETE')).statusCode, 403, 'and from a refused one')
  // The control: a preflight about a route without config on the same plugin is granted.
  const granted = await preflight(app, '/data', APP, 'DELETE')
  t.equal(granted.statusCode, 204)
  t.equal(granted.headers['access-control-allow-origin'], APP)
})

t.test('config.cors false with refusal omit-headers serves every origin without CORS headers', async (t) => {
  const { app, ran } = await build(t)
  for (const origin of [APP, EVIL]) {
    const response = await app.inject({ method: 'POST', url: '/omit-off', headers: { origin } })
    t.equal(response.statusCode, 200, origin)
    t.same(grants(response), [], origin)
  }
  t.equal(ran['omit-off'], 2)
})

t.test('config.cors origins: the route grants its own origins and refuses the plugin\'s', async (t) => {
  const { app, ran } = await build(t)
  const admin = await app.inject({ url: '/admin', headers: { origin: ADMIN } })
  t.equal(admin.statusCode, 200)
  t.equal(admin.headers['access-control-allow-origin'], ADMIN)
  t.equal(admin.headers.vary, 'Origin')
  const app_ = await app.inject({ url: '/admin', headers: { origin: APP } })
  t.equal(app_.statusCode, 403, 'the plugin-wide origin is not listed for this route')
  t.equal(ran['admin-get'], 1)
  t.equal((await app.inject({ url: '/data', headers: { origin: ADMIN } })).statusCode, 403, 'and the route\'s origin is not listed elsewhere')
})

t.test('config.cors overrides credentials, methods, headers, maxAge and cacheControl on the route\'s preflights and responses', async (t) => {
  const { app } = await build(t)
  const granted = await preflight(app, '/admin', ADMIN, 'DELETE', 'x-admin-token')
  t.equal(granted.statusCode, 204)
  t.equal(granted.headers['access-control-allow-origin'], ADMIN)
  t.equal(granted.headers['access-control-allow-credentials'], 'true')
  t.equal(granted.headers['access-control-allow-methods'], 'PUT, DELETE')
  t.equal(granted.headers['access-control-allow-headers'], 'X-Admin-Token')
  t.equal(granted.headers['access-control-max-age'], '60')
  t.equal(granted.headers['cache-control'], 'max-age=60')
  const response = await app.inject({ method: 'PUT', url: '/admin', headers: { origin: ADMIN } })
  t.equal(response.headers['access-control-expose-headers'], 'X-Audit-Id')
  t.equal(response.headers['access-control-allow-credentials'], 'true')
  // The plugin's preflight for the same origin list elsewhere has none of them.
  const plugin = await preflight(app, '/data', APP, 'DELETE')
  t.equal(plugin.headers['access-control-allow-credentials'], undefined)
  t.equal(plugin.headers['access-control-max-age'], '600')
  t.equal((await preflight(app, '/admin', APP, 'DELETE')).statusCode, 403, 'a plugin-wide origin asking about the route is refused')
  t.equal((await preflight(app, '/admin', ADMIN, 'DELETE', 'content-type')).headers['access-control-max-age'], undefined, 'a header the route does not allow: no grant to cache')
})

t.test('a preflight finds a parametric route\'s config, and a static route beside it keeps the plugin\'s', async (t) => {
  const { app } = await build(t)
  t.equal((await preflight(app, '/users/42', APP, 'DELETE')).statusCode, 403, '/users/:id has CORS off')
  t.equal((await preflight(app, '/users/42?x=1', APP, 'DELETE')).statusCode, 403, 'with a query string too')
  t.equal((await preflight(app, '/users/me', APP, 'GET')).statusCode, 204, '/users/me has no config of its own')
  t.equal((await preflight(app, '/static/a/b.css', APP, 'DELETE')).statusCode, 403, 'a wildcard route')
})

t.test('a preflight tells routes apart that differ by static text after a parameter', async (t) => {
  const { app } = await build(t)
  const json = await preflight(app, '/files/report.json', ADMIN, 'PUT')
  t.equal(json.statusCode, 204, '/files/:name.json lists the admin origin')
  t.equal(json.headers['access-control-allow-origin'], ADMIN)
  t.equal((await preflight(app, '/files/report.json', APP, 'PUT')).statusCode, 403)
  t.equal((await preflight(app, '/files/report', APP, 'PUT')).statusCode, 204, '/files/:name keeps the plugin\'s origins')
  t.equal((await preflight(app, '/files/report', ADMIN, 'PUT')).statusCode, 403)
  t.equal((await preflight(app, '/files/r%C3%A9sum%C3%A9.json', ADMIN, 'PUT')).statusCode, 204, 'a percent-encoded parameter')
})

t.test('a preflight is answered by the route it asks about even where the path has its own OPTIONS route', async (t) => {
  const { app } = await build(t)
  const granted = await preflight(app, '/own-options', ADMIN, 'PATCH')
  t.equal(granted.statusCode, 204)
  t.equal(granted.headers['access-control-allow-origin'], ADMIN)
  t.equal((await preflight(app, '/own-options', APP, 'PATCH')).statusCode, 403)
  t.equal((await app.inject({ method: 'OPTIONS', url: '/own-options' })).body, 'options handler', 'a plain OPTIONS request still reaches its route')
})

t.test('a preflight picks the config of the requested method among the routes of one path', async (t) => {
  const { app } = await build(t)
  t.equal((await preflight(app, '/private', APP, 'GET')).statusCode, 403, 'GET /private has CORS off')
  t.equal((await preflight(app, '/data', APP, 'PUT')).statusCode, 204, 'no PUT /data route: the plugin\'s policy answers')
  t.equal((await preflight(app, '/nowhere', APP, 'PUT')).statusCode, 204, 'no route at all: the plugin\'s policy answers')
})

t.test('a route in a prefixed child context is found by its full path', async (t) => {
  const { app, ran } = await build(t)
  t.equal((await preflight(app, '/api/thing', ADMIN, 'DELETE')).statusCode, 204)
  t.equal((await preflight(app, '/api/thing', APP, 'DELETE')).statusCode, 403)
  t.equal((await app.inject({ method: 'DELETE', url: '/api/thing', headers: { origin: ADMIN } })).statusCode, 200)
  t.equal(ran.prefixed, 1)
})

t.test('config.cors.refusal omit-headers serves a refused origin on that route only', async (t) => {
  const { app, ran } = await build(t)
  const response = await app.inject({ method: 'POST', url: '/omit', headers: { origin: EVIL } })
  t.equal(response.statusCode, 200)
  t.same(grants(response), [])
  t.equal(ran.omit, 1)
  t.equal((await app.inject({ method: 'DELETE', url: '/data', headers: { origin: EVIL } })).statusCode, 403, 'the plugin still blocks elsewhere')
})

t.test('the router\'s path options are honoured when a preflight looks for its route', async (t) => {
  const { app } = await build(t, {}, { routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, caseSensitive: false } })
  t.equal((await preflight(app, '/Private/', APP, 'GET')).statusCode, 403, 'trailing slash and case ignored: GET /private, CORS off')
  t.equal((await preflight(app, '//users//42', APP, 'DELETE')).statusCode, 403, 'duplicate slashes ignored')
  t.equal((await preflight(app, '/DATA/', APP, 'GET')).statusCode, 204)
})

t.test('a route\'s own origins that are risky log their warning once, naming the route', async (t) => {
  const { app, warnings } = await build(t)
  app.log.warn('sentinel')
  t.notOk(warnings.some((line) => line.route !== undefined), 'no route warning for safe overrides')
  const risky = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { warnings.push(JSON.parse(line) as Record<string, unknown>) } } } })
  t.teardown(() => risky.close())
  await risky.register(corsPolicy, { origins: [APP] })
  risky.get('/long', { config: { cors: { maxAge: 7201 } } }, async () => 'x')
  await risky.ready()
  const routeWarnings = warnings.filter((line) => String(line.route).endsWith(' /long'))
  t.equal(routeWarnings.length, 1, 'once, although the GET route\'s HEAD route shares its config')
  t.equal(routeWarnings[0]?.route, 'route GET /long')
  t.match(routeWarnings[0]?.msg, /maxAge 7201 exceeds Chromium's cap/)
})

t.test('a route registered before the plugin with config.cors gets CORS off and blocks refused origins (fail closed), with a warning once', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } } } })
  t.teardown(() => app.close())
  let ran = 0
  // @fastify/cors's usual setup: register() not awaited, so the routes come before the plugin loads.
  app.register(corsPolicy, { origins: [APP], refusal: 'omit-headers' })
  app.post('/early', { config: { cors: { origins: [EVIL] } } as FastifyContextConfig }, async () => { ran++; return 'ran' })
  await app.ready()
  const evil = await app.inject({ method: 'POST', url: '/early', headers: { origin: EVIL } })
  t.equal(evil.statusCode, 403, 'its unchecked origins are not trusted')
  const allowed = await app.inject({ method: 'POST', url: '/early', headers: { origin: APP } })
  t.equal(allowed.statusCode, 200)
  t.same(grants(allowed), [], 'and nothing is granted')
  t.equal(ran, 1)
  const warnings = lines.filter((line) => line.route === 'POST /early')
  t.equal(warnings.length, 1, 'one warning for the route, however many requests')
  t.match(warnings[0]?.msg, /registered before corsPolicy was loaded.*`await app.register\(corsPolicy, …\)` before declaring routes/)
})

t.test('a route registered before the plugin keeps a valid corsRefusal "omit-headers"', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.post('/early', { config: { corsRefusal: 'omit-headers' } }, async () => 'ran')
  await app.register(corsPolicy, { origins: [APP] })
  const response = await app.inject({ method: 'POST', url: '/early', headers: { origin: EVIL } })
  t.equal(response.statusCode, 200)
  t.same(grants(response), [])
})

t.test('a preflight finds the route the actual request would reach on its Host, beside a host-constrained static route', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [APP] })
  app.delete('/users/me', { constraints: { host: 'a.example.com' } }, async () => 'me on a')
  app.delete('/users/:id', { config: { cors: false } }, async () => 'user')
  await app.ready()
  const ask = async (host: string): Promise<number> => (await app.inject({ method: 'OPTIONS', url: '/users/me', headers: { host, origin: APP, 'access-control-request-method': 'DELETE' } })).statusCode
  t.equal(await ask('a.example.com'), 204, 'on a.example.com, /users/me is the host-constrained route, with the plugin\'s policy')
  t.equal(await ask('b.example.com'), 403, 'elsewhere it is /users/:id, with CORS off')
})

t.test('over the network: a browser-like preflight then the actual request, per route', async (t) => {
  const { app, ran } = await build(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const ask = (path: string, origin: string, method: string): ReturnType<typeof raw> => raw(`${base}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'x-admin-token', 'sec-fetch-mode': 'cors' }
  })

  // The admin route: its origin is granted, then its DELETE is served with its grant.
  const granted = await ask('/admin', ADMIN, 'DELETE')
  t.equal(granted.status, 204)
  t.equal(granted.headers['access-control-allow-origin'], ADMIN)
  t.equal(granted.headers['access-control-allow-headers'], 'X-Admin-Token')
  const deleted = await raw(`${base}/admin`, { method: 'DELETE', headers: { origin: ADMIN, 'x-admin-token': 't' } })
  t.equal(deleted.status, 200)
  t.equal(deleted.headers['access-control-allow-origin'], ADMIN)
  t.equal(deleted.headers['access-control-allow-credentials'], 'true')
  t.equal(ran.admin, 1)

  // The CORS-off route: the preflight is refused, so a browser never sends the DELETE; sent anyway
  // (a non-browser client), it runs for an allowed origin but carries no grant a page could use.
  const refused = await ask('/private', APP, 'DELETE')
  t.equal(refused.status, 403)
  t.same(grants(refused), [])
  const direct = await raw(`${base}/private`, { method: 'DELETE', headers: { origin: APP } })
  t.equal(direct.status, 200)
  t.same(grants(direct), [])
  t.equal(direct.headers.vary, 'Origin')
})
