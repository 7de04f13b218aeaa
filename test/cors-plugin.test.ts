import type { OutgoingHttpHeaders } from 'node:http'
import { setTimeout } from 'node:timers/promises'
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type LightMyRequestResponse, type onSendHookHandler } from 'fastify'
import { corsPolicy } from '../plugins/cors.js'
import type { CorsPolicyOptions } from '../lib/config.js'
import { CorsConfigError } from '../lib/errors.js'
import { LiveOriginPolicy } from '../lib/live-policy.js'
import { appendVary, OriginPolicy } from '../lib/origin-policy.js'

const APP = 'https://app.example.com'
const EVIL = 'https://evil.example'
const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'

type LogLine = Record<string, unknown>

interface TestApp {
  app: FastifyInstance
  /** How many times a route handler ran. */
  handled: () => number
  /** Warn (and above) log lines, parsed. */
  logs: LogLine[]
}

/** An app with the plugin and a few routes that count how often they ran. */
async function build (t: Test, options: CorsPolicyOptions = {}, setup?: (app: FastifyInstance) => void): Promise<TestApp> {
  const logs: LogLine[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { logs.push(JSON.parse(line) as LogLine) } } } })
  t.teardown(() => app.close())
  let handled = 0
  await app.register(corsPolicy, { origins: [APP], ...options })
  setup?.(app)
  app.get('/data', async () => { handled++; return { ok: true } })
  app.post('/data', async () => { handled++; return { ok: true } })
  app.get('/vary', async (_request, reply) => { handled++; reply.header('vary', 'Accept'); return 'varies' })
  app.post('/validated', { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } },
    async () => { handled++; return 'valid' })
  app.get('/boom', async () => { handled++; throw new Error('boom') })
  app.post('/oauth/callback', { config: { corsRefusal: 'omit-headers' } }, async () => { handled++; return 'callback' })
  app.post('/strict', { config: { corsRefusal: 'block' } }, async () => { handled++; return 'strict' })
  await app.ready()
  return { app, handled: () => handled, logs }
}

function grantHeaders (response: LightMyRequestResponse): string[] {
  return Object.keys(response.headers).filter((name) => name.startsWith('access-control-'))
}

function preflightHeaders (origin: string, extra: Record<string, string> = {}): Record<string, string> {
  return { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type', ...extra }
}

function warnings (logs: LogLine[]): LogLine[] {
  return logs.filter((line) => line.level === 40)
}

/** Replaces Date.now for one test, so refusal-log minutes can pass instantly. */
/**
 * Moves Date.now(); the refusal log reads it through a coarse clock (lib/coarse-clock.ts) that refreshes
 * every 50 ms, so `advance` waits for that refresh.
 */
function fakeClock (t: Test): { advance: (ms: number) => Promise<void> } {
  const realNow = Date.now
  let now = realNow()
  Date.now = () => now
  t.teardown(() => { Date.now = realNow })
  return { advance: async (ms) => { now += ms; await setTimeout(120) } }
}

t.test('allowed origin: ACAO is the request origin, exactly once', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'GET', url: '/data', headers: { origin: APP } })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['access-control-allow-origin'], APP)
})

t.test('allowed origin: ACAC true only with credentials', async (t) => {
  const withCredentials = await build(t, { credentials: true })
  const on = await withCredentials.app.inject({ method: 'GET', url: '/data', headers: { origin: APP } })
  t.equal(on.headers['access-control-allow-credentials'], 'true')
  const without = await build(t)
  const off = await without.app.inject({ method: 'GET', url: '/data', headers: { origin: APP } })
  t.notOk('access-control-allow-credentials' in off.headers)
})

t.test('allowed origin: exposed headers are sent', async (t) => {
  const { app } = await build(t, { exposedHeaders: ['X-Request-Id'] })
  const response = await app.inject({ method: 'GET', url: '/data', headers: { origin: APP } })
  t.equal(response.headers['access-control-expose-headers'], 'X-Request-Id')
})

t.test('allowed origin: Vary gains Origin', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'GET', url: '/data', headers: { origin: APP } })
  t.equal(response.headers.vary, 'Origin')
})

t.test('a handler that sets Vary: Accept keeps it, and Origin is added', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'GET', url: '/vary', headers: { origin: APP } })
  t.equal(response.headers.vary, 'Accept, Origin')
})

/** A route-level onSend hook that sets Vary itself, as route code often does. */
function setsVary (value: string): onSendHookHandler {
  return function ownVary (_request, reply, payload, done) {
    reply.header('vary', value)
    done(null, payload)
  }
}

t.test('a route with its own onSend that sets Vary: Accept still answers Vary: Accept, Origin', async (t) => {
  const { app } = await build(t, {}, (app) => {
    app.get('/own-vary', { onSend: setsVary('Accept') }, async () => 'own')
    app.get('/own-vary-list', { onSend: [setsVary('Accept-Language'), setsVary('Accept')] }, async () => 'own')
  })
  for (const url of ['/own-vary', '/own-vary-list']) {
    for (const [headers, status] of [[{ origin: APP }, 200], [{ origin: EVIL }, 403], [{}, 200]] as const) {
      const response = await app.inject({ method: 'GET', url, headers })
      t.equal(response.statusCode, status)
      t.equal(response.headers.vary, 'Accept, Origin', `${url} ${JSON.stringify(headers)}`)
    }
  }
})

t.test('an onSend hook of a child context registered after the plugin cannot drop Origin either', async (t) => {
  const { app } = await build(t, {}, (app) => {
    app.register(async (child) => {
      child.addHook('onSend', setsVary('Accept-Encoding'))
      child.get('/child-vary', async () => 'child')
    })
  })
  const response = await app.inject({ method: 'GET', url: '/child-vary', headers: { origin: APP } })
  t.equal(response.headers.vary, 'Accept-Encoding, Origin')
})

t.test('one shared onSend array on two routes gets the Vary completer once per route', async (t) => {
  const shared = [setsVary('Accept')]
  const { app } = await build(t, {}, (app) => {
    app.get('/shared-a', { onSend: shared }, async () => 'a')
    app.get('/shared-b', { onSend: shared }, async () => 'b')
  })
  t.equal(shared.length, 1, 'the caller\'s array is not modified')
  for (const url of ['/shared-a', '/shared-b']) {
    t.equal((await app.inject({ method: 'GET', url, headers: { origin: APP } })).headers.vary, 'Accept, Origin', url)
  }
})

t.test('an onSend hook that sets Vary and then fails still answers with Vary: Origin', async (t) => {
  const failsAfterVary: onSendHookHandler = (_request, reply, _payload, done) => {
    reply.header('vary', 'Accept')
    done(new Error('onSend failed'))
  }
  const { app } = await build(t, {}, (app) => {
    app.get('/route-fails', { onSend: failsAfterVary }, async () => 'never sent')
    app.register(async (child) => {
      child.addHook('onSend', failsAfterVary)
      child.get('/child-fails', async () => 'never sent')
    })
  })
  for (const url of ['/route-fails', '/child-fails']) {
    const response = await app.inject({ method: 'GET', url, headers: { origin: APP } })
    t.equal(response.statusCode, 500, url)
    t.equal(response.headers.vary, 'Accept, Origin', url)
    t.equal(response.headers['access-control-allow-origin'], APP, `${url}: the error keeps its grant, so the page can read it`)
  }
})

t.test('boundary: a hijacked reply carries the CORS headers (Vary and grants) when the handler copies reply.getHeaders()', async (t) => {
  const { app } = await build(t, {}, (app) => {
    app.get('/hijacked-bare', async (_request, reply) => {
      reply.hijack()
      reply.raw.writeHead(200, { 'content-type': 'text/plain' })
      reply.raw.end('raw')
    })
    app.get('/hijacked-copies', async (_request, reply) => {
      reply.hijack()
      reply.raw.writeHead(200, { ...reply.getHeaders(), 'content-type': 'text/plain' } as OutgoingHttpHeaders)
      reply.raw.end('raw')
    })
    app.get('/hijacked-appends', async (_request, reply) => {
      reply.hijack()
      reply.raw.writeHead(200, { ...reply.getHeaders(), vary: appendVary(reply.getHeader('vary'), 'Accept') } as OutgoingHttpHeaders)
      reply.raw.end('raw')
    })
  })
  for (const headers of [{ origin: APP }, {}]) {
    const label = JSON.stringify(headers)
    const bare = await app.inject({ method: 'GET', url: '/hijacked-bare', headers })
    t.equal(bare.body, 'raw')
    t.equal(bare.headers.vary, undefined, `${label}: a raw writeHead of its own sends only what the handler wrote (the documented boundary)`)
    t.equal(bare.headers['access-control-allow-origin'], undefined, label)
    const copied = await app.inject({ method: 'GET', url: '/hijacked-copies', headers })
    t.equal(copied.headers.vary, 'Origin', label)
    t.equal(copied.headers['access-control-allow-origin'], headers.origin, `${label}: the grant comes with the copy, for an allowed origin only`)
    const appended = await app.inject({ method: 'GET', url: '/hijacked-appends', headers })
    t.equal(appended.headers.vary, 'Origin, Accept', label)
  }
})

t.test('a 404 to an allowed origin carries ACAO once', async (t) => {
  const { app } = await build(t, { credentials: true })
  const response = await app.inject({ method: 'GET', url: '/missing', headers: { origin: APP } })
  t.equal(response.statusCode, 404)
  t.equal(response.headers['access-control-allow-origin'], APP)
  t.equal(response.headers['access-control-allow-credentials'], 'true')
  t.equal(response.headers.vary, 'Origin')
})

t.test('a 400 validation error to an allowed origin carries ACAO once', async (t) => {
  const { app, handled } = await build(t, { credentials: true })
  const response = await app.inject({ method: 'POST', url: '/validated', headers: { origin: APP }, payload: {} })
  t.equal(response.statusCode, 400)
  t.equal(handled(), 0)
  t.equal(response.headers['access-control-allow-origin'], APP)
  t.equal(response.headers['access-control-allow-credentials'], 'true')
})

t.test('a thrown 500 to an allowed origin carries ACAO once', async (t) => {
  const { app } = await build(t, { credentials: true })
  const response = await app.inject({ method: 'GET', url: '/boom', headers: { origin: APP } })
  t.equal(response.statusCode, 500)
  t.equal(response.headers['access-control-allow-origin'], APP)
  t.equal(response.headers['access-control-allow-credentials'], 'true')
  t.equal(response.headers.vary, 'Origin')
})

t.test('disallowed origin: 403 with a JSON body that says only that it was refused', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'GET', url: '/data', headers: { origin: EVIL } })
  t.equal(response.statusCode, 403)
  t.match(response.headers['content-type'], 'application/json')
  t.same(response.json(), {
    statusCode: 403,
    code: 'ORIGIN_REFUSED',
    error: 'Forbidden',
    message: 'Origin not allowed'
  })
})

t.test('disallowed origin: the route handler does not run', async (t) => {
  const { app, handled } = await build(t)
  const response = await app.inject({ method: 'POST', url: '/data', headers: { origin: EVIL, 'content-type': 'text/plain' }, payload: 'x' })
  t.equal(response.statusCode, 403)
  t.equal(handled(), 0)
})

t.test('disallowed origin: no Access-Control-Allow-* headers at all', async (t) => {
  const { app } = await build(t, { credentials: true, exposedHeaders: ['X-Id'], privateNetwork: true })
  const response = await app.inject({ method: 'GET', url: '/data', headers: { origin: EVIL } })
  t.same(grantHeaders(response), [])
})

t.test('disallowed origin: Vary: Origin', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'GET', url: '/data', headers: { origin: EVIL } })
  t.equal(response.headers.vary, 'Origin')
})

t.test('disallowed origin on an unknown path: 403, not 404', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'GET', url: '/missing', headers: { origin: EVIL } })
  t.equal(response.statusCode, 403)
})

t.test('non-canonical forms of an allowed origin are refused', async (t) => {
  const { app } = await build(t)
  for (const origin of ['https://APP.example.com', `${APP}:443`, `${APP}/`, 'null', `${APP}, ${EVIL}`]) {
    const response = await app.inject({ method: 'GET', url: '/data', headers: { origin } })
    t.equal(response.statusCode, 403, origin)
  }
})

t.test('refusal "omit-headers": the request is served without grant headers', async (t) => {
  const { app, handled } = await build(t, { refusal: 'omit-headers', credentials: true })
  const response = await app.inject({ method: 'GET', url: '/data', headers: { origin: EVIL } })
  t.equal(response.statusCode, 200)
  t.equal(handled(), 1)
  t.same(grantHeaders(response), [])
  t.equal(response.headers.vary, 'Origin')
})

t.test('per-route opt-out: corsRefusal "omit-headers" serves a refused origin there only', async (t) => {
  const { app, handled } = await build(t)
  const callback = await app.inject({ method: 'POST', url: '/oauth/callback', headers: { origin: EVIL } })
  t.equal(callback.statusCode, 200)
  t.equal(handled(), 1)
  t.same(grantHeaders(callback), [])
  const other = await app.inject({ method: 'POST', url: '/data', headers: { origin: EVIL } })
  t.equal(other.statusCode, 403)
})

t.test('per-route corsRefusal "block" wins over refusal "omit-headers"', async (t) => {
  const { app, handled } = await build(t, { refusal: 'omit-headers' })
  const response = await app.inject({ method: 'POST', url: '/strict', headers: { origin: EVIL } })
  t.equal(response.statusCode, 403)
  t.equal(handled(), 0)
})

t.test('a preflight from a refused origin is 403 even where refused origins are served', async (t) => {
  const omitting = await build(t, { refusal: 'omit-headers' })
  const global = await omitting.app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(EVIL) })
  t.equal(global.statusCode, 403)
  const optedOut = await build(t)
  const route = await optedOut.app.inject({ method: 'OPTIONS', url: '/oauth/callback', headers: preflightHeaders(EVIL) })
  t.equal(route.statusCode, 403)
})

t.test('no Origin: served as usual, no grant headers, Vary: Origin', async (t) => {
  const { app, handled } = await build(t, { credentials: true, exposedHeaders: ['X-Id'] })
  const response = await app.inject({ method: 'GET', url: '/data' })
  t.equal(response.statusCode, 200)
  t.equal(handled(), 1)
  t.same(grantHeaders(response), [])
  t.equal(response.headers.vary, 'Origin')
})

t.test('preflight: 204 without body or Content-Length', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(APP) })
  t.equal(response.statusCode, 204)
  t.equal(response.body, '')
  t.notOk('content-length' in response.headers)
})

t.test('preflight: the configured methods and headers, Authorization listed by default', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(APP) })
  t.equal(response.headers['access-control-allow-origin'], APP)
  t.equal(response.headers['access-control-allow-methods'], 'GET, HEAD, PUT, PATCH, POST, DELETE')
  t.equal(response.headers['access-control-allow-headers'], 'Content-Type, Authorization')
})

t.test('preflight: Max-Age 600 by default, and Vary on the request headers', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(APP) })
  t.equal(response.headers['access-control-max-age'], '600')
  t.equal(response.headers.vary, PREFLIGHT_VARY)
})

t.test('preflight: requested headers are never reflected, and an unlisted one gets no Max-Age', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(APP, { 'access-control-request-headers': 'x-evil' }) })
  t.equal(response.statusCode, 204)
  t.equal(response.headers['access-control-allow-headers'], 'Content-Type, Authorization')
  t.notOk('access-control-max-age' in response.headers)
})

t.test('preflight: an unlisted method gets no Max-Age', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(APP, { 'access-control-request-method': 'PURGE' }) })
  t.equal(response.statusCode, 204)
  t.notOk('access-control-max-age' in response.headers)
})

t.test('preflight: answered on any path, even one without routes', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'OPTIONS', url: '/no/such/route', headers: preflightHeaders(APP) })
  t.equal(response.statusCode, 204)
  t.equal(response.headers['access-control-allow-origin'], APP)
})

t.test('preflight: answered before an auth hook registered after the plugin', async (t) => {
  const { app } = await build(t, {}, (app) => {
    app.addHook('onRequest', async (_request, reply) => reply.code(401).send({ error: 'Unauthorized' }))
  })
  const preflight = await app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(APP) })
  t.equal(preflight.statusCode, 204)
  const unauthorized = await app.inject({ method: 'GET', url: '/data', headers: { origin: APP } })
  t.equal(unauthorized.statusCode, 401, 'the auth hook does run for other requests')
  t.equal(unauthorized.headers['access-control-allow-origin'], APP, 'and its 401 carries ACAO')
})

t.test('preflight: the route handler does not run', async (t) => {
  const { app, handled } = await build(t, {}, (app) => {
    app.options('/data', async () => 'handled')
  })
  await app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(APP) })
  t.equal(handled(), 0)
})

t.test('preflight: a refused origin gets 403, no grant headers, and Vary', async (t) => {
  const { app } = await build(t, { credentials: true })
  const response = await app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(EVIL) })
  t.equal(response.statusCode, 403)
  t.same(grantHeaders(response), [])
  t.equal(response.headers.vary, PREFLIGHT_VARY)
  t.same(response.json(), { statusCode: 403, code: 'ORIGIN_REFUSED', error: 'Forbidden', message: 'Origin not allowed' })
})

t.test('preflight: Cache-Control only when configured', async (t) => {
  const configured = await build(t, { cacheControl: 600 })
  const on = await configured.app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(APP) })
  t.equal(on.headers['cache-control'], 'max-age=600')
  const unconfigured = await build(t)
  const off = await unconfigured.app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(APP) })
  t.notOk('cache-control' in off.headers)
})

t.test('OPTIONS without Access-Control-Request-Method is an ordinary request', async (t) => {
  const { app } = await build(t)
  const response = await app.inject({ method: 'OPTIONS', url: '/data', headers: { origin: APP } })
  t.equal(response.statusCode, 404)
  t.equal(response.headers['access-control-allow-origin'], APP)
})

t.test('private network: granted only when opted in and requested', async (t) => {
  const requested = { 'access-control-request-private-network': 'true' }
  const optedIn = await build(t, { privateNetwork: true })
  const granted = await optedIn.app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(APP, requested) })
  t.equal(granted.headers['access-control-allow-private-network'], 'true')
  const notRequested = await optedIn.app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(APP) })
  t.notOk('access-control-allow-private-network' in notRequested.headers)
  const optedOut = await build(t)
  const off = await optedOut.app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(APP, requested) })
  t.notOk('access-control-allow-private-network' in off.headers)
})

t.test('"*" without credentials: ACAO * on every response, no Vary: Origin', async (t) => {
  const { app } = await build(t, { origins: '*' })
  for (const headers of [{ origin: APP }, { origin: EVIL }, {}]) {
    const response = await app.inject({ method: 'GET', url: '/data', headers })
    t.equal(response.statusCode, 200)
    t.equal(response.headers['access-control-allow-origin'], '*')
    t.notOk('vary' in response.headers, JSON.stringify(headers))
  }
  const vary = await app.inject({ method: 'GET', url: '/vary', headers: { origin: APP } })
  t.equal(vary.headers.vary, 'Accept', 'a handler Vary is left alone')
})

t.test('"*" without credentials: preflights get ACAO * and no Vary: Origin', async (t) => {
  const { app } = await build(t, { origins: '*' })
  const response = await app.inject({ method: 'OPTIONS', url: '/data', headers: preflightHeaders(EVIL) })
  t.equal(response.statusCode, 204)
  t.equal(response.headers['access-control-allow-origin'], '*')
  t.equal(response.headers.vary, 'Access-Control-Request-Method, Access-Control-Request-Headers')
})

t.test('the instance is decorated with the live policy, deciding by a compiled one', async (t) => {
  const { app } = await build(t)
  t.ok(app.originPolicy instanceof LiveOriginPolicy)
  t.ok(app.originPolicy.current instanceof OriginPolicy)
  t.match(app.originPolicy.decide(APP), { allowed: true, reason: 'exact', entry: APP })
})

t.test('a refusal is logged at warn with origin, method, URL, reason, entry and fix; the caller reads none of them', async (t) => {
  const { app, logs } = await build(t)
  const response = await app.inject({ method: 'POST', url: '/data?x=1', headers: { origin: 'http://app.example.com' } })
  t.notMatch(response.body, /app\.example\.com|scheme|listed/, 'the 403 body names neither the entry nor the reason')
  t.match(warnings(logs), [{
    fix: /add it to origins/,
    origin: 'http://app.example.com',
    method: 'POST',
    url: '/data?x=1',
    reason: 'scheme-differs',
    entry: APP,
    msg: `Origin "http://app.example.com" is refused: its host is listed with another scheme (${APP})`
  }])
})

t.test('a refusal is logged once per origin per minute', async (t) => {
  const clock = fakeClock(t)
  const { app, logs } = await build(t)
  for (let i = 0; i < 3; i++) await app.inject({ method: 'GET', url: '/data', headers: { origin: EVIL } })
  t.equal(warnings(logs).length, 1, 'three refusals, one line')
  await app.inject({ method: 'GET', url: '/data', headers: { origin: 'https://other.example' } })
  t.equal(warnings(logs).length, 2, 'another origin gets its own line')
  await clock.advance(60_000)
  await app.inject({ method: 'GET', url: '/data', headers: { origin: EVIL } })
  t.equal(warnings(logs).length, 3, 'a minute later the origin is logged again')
  t.match(warnings(logs)[2], { origin: EVIL })
  t.match(warnings(logs)[1], { suppressed: 2 }, 'the next line counts the refusals left unlogged')
})

t.test('refusals are logged in omit-headers mode too', async (t) => {
  const { app, logs } = await build(t, { refusal: 'omit-headers' })
  await app.inject({ method: 'GET', url: '/data', headers: { origin: EVIL } })
  t.match(warnings(logs), [{ origin: EVIL, reason: 'not-listed' }])
})

t.test('allowed and Origin-less requests are not logged', async (t) => {
  const { app, logs } = await build(t)
  await app.inject({ method: 'GET', url: '/data', headers: { origin: APP } })
  await app.inject({ method: 'GET', url: '/data' })
  t.same(warnings(logs), [])
})

t.test('start-up warnings are logged once', async (t) => {
  const { app, logs } = await build(t, { maxAge: 601 })
  await app.inject({ method: 'GET', url: '/data', headers: { origin: APP } })
  const lines = warnings(logs)
  t.equal(lines.length, 1)
  t.match(lines[0], { plugin: 'fastify-cors-io', msg: /WebKit's cap \(600 s\)/ })
})

t.test('invalid options make registration reject with CorsConfigError', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(corsPolicy, { origins: ['https://app.example.com/'] })
  await t.rejects(async () => { await app.ready() }, CorsConfigError)
})

t.test('no origins anywhere makes registration reject, saying how to set them', async (t) => {
  const saved = process.env.CORS_ORIGINS
  delete process.env.CORS_ORIGINS
  t.teardown(() => { if (saved !== undefined) process.env.CORS_ORIGINS = saved })
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(corsPolicy) }, { name: 'CorsConfigError', setting: 'origins', fix: /CORS_ORIGINS=/ })
})

t.test('CORS_ORIGINS configures the plugin when options leave origins out', async (t) => {
  const saved = process.env.CORS_ORIGINS
  process.env.CORS_ORIGINS = `${EVIL}, ${APP}`
  t.teardown(() => {
    if (saved === undefined) delete process.env.CORS_ORIGINS
    else process.env.CORS_ORIGINS = saved
  })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy)
  const response = await app.inject({ method: 'GET', url: '/', headers: { origin: EVIL } })
  t.equal(response.headers['access-control-allow-origin'], EVIL)
})
