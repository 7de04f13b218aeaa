import t from 'tap'
import type { IncomingHttpHeaders } from 'node:http'
import type { CorsPolicyOptions } from '../lib/config.js'
import { appendVary, createOriginPolicy, type CorsAnswer, type OriginPolicy } from '../lib/origin-policy.js'

const APP = 'https://app.example.com'
const EVIL = 'https://evil.example'
const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers'

function policyOf (options: CorsPolicyOptions = {}): OriginPolicy {
  return createOriginPolicy({ origins: [APP], ...options }, {})
}

function preflight (policy: OriginPolicy, headers: IncomingHttpHeaders): CorsAnswer {
  const answer = policy.verdict('OPTIONS', { origin: APP, 'access-control-request-method': 'PUT', ...headers }).answer
  if (answer === undefined) throw new Error('expected a preflight answer')
  return answer
}

function grantHeaders (headers: Record<string, string>): string[] {
  return Object.keys(headers).filter((name) => name.startsWith('access-control-'))
}

t.test('a request without Origin gets no grant headers and no answer, only Vary', async (t) => {
  const verdict = policyOf().verdict('GET', {})
  t.same(verdict, { decision: { allowed: false, reason: 'absent' }, headers: { vary: 'Origin' } })
})

t.test('an allowed simple request gets ACAO set to its origin', async (t) => {
  const verdict = policyOf().verdict('GET', { origin: APP })
  // Vary with the grant: one pass of headers per response (see OriginPolicy's constructor).
  t.same(verdict.headers, { 'access-control-allow-origin': APP, vary: 'Origin' })
  t.equal(verdict.answer, undefined)
  t.equal(verdict.refusal, undefined)
})

t.test('credentials on adds ACAC true', async (t) => {
  const verdict = policyOf({ credentials: true }).verdict('GET', { origin: APP })
  t.equal(verdict.headers?.['access-control-allow-credentials'], 'true')
})

t.test('exposed headers are sent on allowed simple requests', async (t) => {
  const verdict = policyOf({ exposedHeaders: ['X-Id', 'X-Total'] }).verdict('GET', { origin: APP })
  t.equal(verdict.headers?.['access-control-expose-headers'], 'X-Id, X-Total')
})

t.test('a refused simple request gets a 403 that says only that it was refused, and no grant headers', async (t) => {
  const verdict = policyOf({ credentials: true, exposedHeaders: ['X-Id'] }).verdict('POST', { origin: EVIL })
  t.equal(verdict.headers, undefined)
  t.equal(verdict.answer, undefined)
  const refusal = verdict.refusal
  if (refusal === undefined) throw new Error('expected a refusal')
  t.equal(refusal.statusCode, 403)
  t.same(refusal.headers, { 'content-type': 'application/json; charset=utf-8', vary: 'Origin' })
  t.same(JSON.parse(refusal.body), {
    statusCode: 403,
    code: 'ORIGIN_REFUSED',
    error: 'Forbidden',
    message: 'Origin not allowed'
  })
})

t.test('OPTIONS without Access-Control-Request-Method is not a preflight', async (t) => {
  const verdict = policyOf().verdict('OPTIONS', { origin: APP })
  t.equal(verdict.answer, undefined)
  t.same(verdict.headers, { 'access-control-allow-origin': APP, vary: 'Origin' })
})

t.test('another method with Access-Control-Request-Method is not a preflight', async (t) => {
  const verdict = policyOf().verdict('GET', { origin: APP, 'access-control-request-method': 'PUT' })
  t.equal(verdict.answer, undefined)
})

t.test('a granted preflight is a 204 with the configured lists, Max-Age and Vary', async (t) => {
  const answer = preflight(policyOf({ credentials: true, exposedHeaders: ['X-Id'] }), { 'access-control-request-headers': 'content-type,authorization' })
  t.equal(answer.statusCode, 204)
  t.equal(answer.body, '')
  t.same(answer.headers, {
    'access-control-allow-origin': APP,
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET, HEAD, PUT, PATCH, POST, DELETE',
    'access-control-allow-headers': 'Content-Type, Authorization',
    'access-control-max-age': '600',
    vary: PREFLIGHT_VARY
  })
})

t.test('a preflight has neither Content-Length nor Expose-Headers', async (t) => {
  const answer = preflight(policyOf({ exposedHeaders: ['X-Id'] }), {})
  t.notOk('content-length' in answer.headers)
  t.notOk('access-control-expose-headers' in answer.headers)
})

t.test('a preflight never reflects the requested headers', async (t) => {
  const answer = preflight(policyOf(), { 'access-control-request-headers': 'x-evil' })
  t.equal(answer.statusCode, 204)
  t.equal(answer.headers['access-control-allow-headers'], 'Content-Type, Authorization')
})

t.test('a preflight asking for an unlisted header gets no Max-Age', async (t) => {
  const answer = preflight(policyOf(), { 'access-control-request-headers': 'content-type,x-evil' })
  t.equal(answer.statusCode, 204)
  t.equal(answer.headers['access-control-allow-origin'], APP)
  t.notOk('access-control-max-age' in answer.headers)
})

t.test('a preflight asking for an unlisted method gets no Max-Age', async (t) => {
  const answer = preflight(policyOf(), { 'access-control-request-method': 'PURGE' })
  t.equal(answer.statusCode, 204)
  t.equal(answer.headers['access-control-allow-methods'], 'GET, HEAD, PUT, PATCH, POST, DELETE')
  t.notOk('access-control-max-age' in answer.headers)
})

t.test('safelisted methods pass the preflight even when not configured', async (t) => {
  const policy = policyOf({ methods: ['PUT'] })
  for (const method of ['GET', 'HEAD', 'POST']) {
    t.equal(preflight(policy, { 'access-control-request-method': method }).headers['access-control-max-age'], '600', method)
  }
})

t.test('the method check is case-sensitive, as in browsers', async (t) => {
  t.notOk('access-control-max-age' in preflight(policyOf(), { 'access-control-request-method': 'put' }).headers)
})

t.test('the header check is case-insensitive and ignores blank items', async (t) => {
  const answer = preflight(policyOf(), { 'access-control-request-headers': 'Content-Type, ,AUTHORIZATION' })
  t.equal(answer.headers['access-control-max-age'], '600')
})

t.test('an empty Access-Control-Request-Headers passes', async (t) => {
  t.equal(preflight(policyOf(), { 'access-control-request-headers': '' }).headers['access-control-max-age'], '600')
})

t.test('allowedHeaders "*" covers any header without credentials', async (t) => {
  const answer = preflight(policyOf({ allowedHeaders: '*' }), { 'access-control-request-headers': 'x-anything,content-type' })
  t.equal(answer.headers['access-control-max-age'], '600')
  t.equal(answer.headers['access-control-allow-headers'], '*')
})

t.test('allowedHeaders "*" never covers Authorization', async (t) => {
  const answer = preflight(policyOf({ allowedHeaders: '*' }), { 'access-control-request-headers': 'authorization' })
  t.notOk('access-control-max-age' in answer.headers)
})

t.test('Authorization listed next to "*" is covered', async (t) => {
  const answer = preflight(policyOf({ allowedHeaders: ['*', 'Authorization'] }), { 'access-control-request-headers': 'authorization,x-other' })
  t.equal(answer.headers['access-control-max-age'], '600')
})

t.test('methods "*" covers any method without credentials', async (t) => {
  const answer = preflight(policyOf({ methods: '*' }), { 'access-control-request-method': 'PURGE' })
  t.equal(answer.headers['access-control-max-age'], '600')
})

t.test('header-check results stay right beyond the memo size', async (t) => {
  const policy = policyOf({ allowedHeaders: ['X-Allowed'] })
  for (let i = 0; i < 300; i++) {
    const answer = preflight(policy, { 'access-control-request-headers': `x-allowed,x-h${i}` })
    if ('access-control-max-age' in answer.headers) t.fail(`x-h${i} was granted`)
  }
  t.equal(preflight(policy, { 'access-control-request-headers': 'x-allowed' }).headers['access-control-max-age'], '600')
  t.notOk('access-control-max-age' in preflight(policy, { 'access-control-request-headers': 'x-allowed,x-h1' }).headers)
})

t.test('a repeated header list gets the same result', async (t) => {
  const policy = policyOf()
  const first = preflight(policy, { 'access-control-request-headers': 'x-evil' })
  t.same(preflight(policy, { 'access-control-request-headers': 'x-evil' }), first)
})

t.test('the configured Max-Age is sent', async (t) => {
  t.equal(preflight(policyOf({ maxAge: 0 }), {}).headers['access-control-max-age'], '0')
})

t.test('cacheControl is sent on granted preflights only', async (t) => {
  const policy = policyOf({ cacheControl: 300 })
  t.equal(preflight(policy, {}).headers['cache-control'], 'max-age=300')
  t.notOk('cache-control' in preflight(policy, { 'access-control-request-method': 'PURGE' }).headers)
})

t.test('a preflight from a refused origin is a 403 without grant headers', async (t) => {
  const answer = policyOf({ credentials: true }).verdict('OPTIONS', { origin: EVIL, 'access-control-request-method': 'PUT' }).answer
  t.equal(answer?.statusCode, 403)
  t.same(grantHeaders(answer?.headers ?? {}), [])
  t.equal(answer?.headers.vary, PREFLIGHT_VARY)
  t.same(JSON.parse(answer?.body ?? '{}'), { statusCode: 403, code: 'ORIGIN_REFUSED', error: 'Forbidden', message: 'Origin not allowed' })
})

t.test('private network: granted only when opted in and requested', async (t) => {
  const on = policyOf({ privateNetwork: true })
  const requested = { 'access-control-request-private-network': 'true' }
  t.equal(preflight(on, requested).headers['access-control-allow-private-network'], 'true')
  t.notOk('access-control-allow-private-network' in preflight(on, {}).headers, 'not requested')
  t.notOk('access-control-allow-private-network' in preflight(policyOf(), requested).headers, 'not opted in')
})

t.test('private network: not granted when the preflight is denied', async (t) => {
  const answer = preflight(policyOf({ privateNetwork: true }), { 'access-control-request-private-network': 'true', 'access-control-request-method': 'PURGE' })
  t.notOk('access-control-allow-private-network' in answer.headers)
})

t.test('private network: not granted to a refused origin', async (t) => {
  const answer = policyOf({ privateNetwork: true }).verdict('OPTIONS', {
    origin: EVIL, 'access-control-request-method': 'PUT', 'access-control-request-private-network': 'true'
  }).answer
  t.equal(answer?.statusCode, 403)
  t.notOk('access-control-allow-private-network' in (answer?.headers ?? {}))
})

t.test('private network: opting in adds the request header to the preflight Vary', async (t) => {
  t.equal(preflight(policyOf({ privateNetwork: true }), {}).headers.vary, `${PREFLIGHT_VARY}, Access-Control-Request-Private-Network`)
})

t.test('"*" sends ACAO * on every request and does not vary on Origin', async (t) => {
  const any = createOriginPolicy({ origins: '*' }, {})
  t.equal(any.vary, undefined)
  t.same(any.verdict('GET', { origin: APP }).headers, { 'access-control-allow-origin': '*' })
  t.same(any.verdict('GET', {}).headers, { 'access-control-allow-origin': '*' })
})

t.test('"*" preflights answer ACAO * and Vary without Origin', async (t) => {
  const answer = createOriginPolicy({ origins: '*' }, {}).verdict('OPTIONS', { origin: EVIL, 'access-control-request-method': 'PUT' }).answer
  t.equal(answer?.statusCode, 204)
  t.equal(answer?.headers['access-control-allow-origin'], '*')
  t.equal(answer?.headers.vary, 'Access-Control-Request-Method, Access-Control-Request-Headers')
})

t.test('a dynamic allowlist varies on Origin', async (t) => {
  t.equal(policyOf().vary, 'Origin')
})

t.test('decide and the cache getters expose the matcher', async (t) => {
  const policy = policyOf({ origins: [/https:\/\/c[0-9]\.example/], decisionCacheSize: 5 })
  t.match(policy.decide('https://c1.example'), { allowed: true, reason: 'pattern' })
  t.equal(policy.cacheSize, 1)
  t.equal(policy.cacheLimit, 5)
})

t.test('refuse() says a missing Origin is required, where one is', async (t) => {
  const answer = policyOf().refuse({ allowed: false, reason: 'absent' }, false)
  t.equal(answer.statusCode, 403)
  t.same(JSON.parse(answer.body), { statusCode: 403, code: 'ORIGIN_REFUSED', error: 'Forbidden', message: 'Origin header required' })
})

t.test('the 403 body never names an entry nor the reason, whatever the refusal', async (t) => {
  const policy = policyOf({ origins: [APP, 'https://*.preview.example.com', /https:\/\/pr-\d+\.corp\.example/] })
  const probes = ['http://app.example.com', 'https://app.example.com:8443', 'https://App.example.com', 'http://x.preview.example.com',
    'http://pr-1.corp.example', 'null', EVIL]
  const bodies = new Set<string>()
  for (const origin of probes) {
    const verdict = policy.verdict('GET', { origin })
    const preflight = policy.verdict('OPTIONS', { origin, 'access-control-request-method': 'PUT' })
    for (const answer of [verdict.refusal, preflight.answer]) {
      if (answer === undefined) throw new Error(`expected a refusal of ${origin}`)
      bodies.add(answer.body)
      t.notMatch(answer.body, /app\.example|preview|corp|scheme|port|listed|reason/, origin)
    }
  }
  t.same([...bodies], [JSON.stringify({ statusCode: 403, code: 'ORIGIN_REFUSED', error: 'Forbidden', message: 'Origin not allowed' })],
    'one constant body for every refused origin')
})

t.test('logRefusal logs origin, reason, entry, method and URL at warn', async (t) => {
  const lines: Array<[object, string]> = []
  const policy = policyOf()
  const origin = 'http://app.example.com'
  policy.logRefusal({ warn: (details, message) => { lines.push([details, message]) } }, origin, { allowed: false, reason: 'scheme-differs', entry: APP },
    { method: 'POST', url: '/api' })
  t.same(lines, [[
    {
      origin,
      reason: 'scheme-differs',
      entry: APP,
      fix: 'if this origin is yours, add it to origins (or CORS_ORIGINS); the listed entry has another scheme',
      method: 'POST',
      url: '/api',
      suppressed: 0
    },
    `Origin "${origin}" is refused: its host is listed with another scheme (${APP})`
  ]])
})

t.test('logRefusal carries at most 300 characters of an Origin, and its original length', async (t) => {
  const lines: Array<[Record<string, unknown>, string]> = []
  const log = { warn: (details: object, message: string) => { lines.push([details as Record<string, unknown>, message]) } }
  const policy = policyOf()
  const long = `https://${'a'.repeat(60_000)}.example`
  policy.logRefusal(log, long, { allowed: false, reason: 'not-listed' }, {})
  policy.logRefusal(log, `${long}x`, { allowed: false, reason: 'not-listed' }, {})
  t.equal(lines.length, 1, 'Origins that differ only beyond the cut share one rate-limit key')
  const [details, message] = lines[0]
  t.equal(details.origin, `${long.slice(0, 300)}…`)
  t.equal(details.originLength, long.length)
  t.ok(message.length < 400, 'the message is bounded too')
  t.equal(JSON.stringify(lines).length < 2000, true, 'the whole line stays small')
  policy.logRefusal(log, EVIL, { allowed: false, reason: 'not-listed' }, {})
  t.notOk('originLength' in lines[1][0], 'a short Origin is logged whole, without originLength')
  t.equal(lines[1][0].origin, EVIL)
})

t.test('a foreign-domain refusal is logged with the entry that matched and how to name the domain, and answered with the constant body', async (t) => {
  const lines: Array<[Record<string, unknown>, string]> = []
  const policy = policyOf({ origins: [/https:\/\/app.example.com/, 'https://*.amazonaws.com'], credentials: true })
  for (const origin of ['https://appxexample.com', 'https://attacker-bucket.s3.amazonaws.com']) {
    const verdict = policy.verdict('GET', { origin })
    if (verdict.decision.allowed) throw new Error(`${origin} was allowed`)
    t.same(JSON.parse(verdict.refusal?.body ?? '{}'), { statusCode: 403, code: 'ORIGIN_REFUSED', error: 'Forbidden', message: 'Origin not allowed' }, origin)
    t.equal(verdict.headers, undefined, `${origin}: no grant header`)
    policy.logRefusal({ warn: (details, message) => { lines.push([details as Record<string, unknown>, message]) } }, origin, verdict.decision, {})
  }
  t.match(lines, [
    [{ reason: 'foreign-domain', entry: '/https:\\/\\/app.example.com/', fix: /registrable domain out in the RegExp/ }, /entry \/https:.*app\.example\.com\/ matches it, but not its registrable domain/],
    [{ reason: 'foreign-domain', entry: 'https://*.amazonaws.com', fix: /never reaches below a public suffix/ }, /entry https:\/\/\*\.amazonaws\.com matches it/]
  ])
})

t.test('logRefusal names a fix for every reason', async (t) => {
  const fixes: unknown[] = []
  const policy = policyOf()
  const reasons = ['absent', 'too-long', 'malformed', 'non-canonical', 'scheme-differs', 'port-differs', 'not-listed', 'foreign-domain'] as const
  reasons.forEach((reason, i) => {
    policy.logRefusal({ warn: (details) => { fixes.push((details as { fix?: unknown }).fix) } }, `https://r${i}.example`, { allowed: false, reason }, {})
  })
  t.equal(fixes.length, reasons.length)
  for (const fix of fixes) t.match(fix, /\w{4,}/)
})

t.test('logRefusal logs an origin once per minute', async (t) => {
  let count = 0
  const log = { warn: () => { count++ } }
  const policy = policyOf()
  for (let i = 0; i < 3; i++) policy.logRefusal(log, EVIL, { allowed: false, reason: 'not-listed' }, {})
  policy.logRefusal(log, undefined, { allowed: false, reason: 'absent' }, {})
  t.equal(count, 2)
})

t.test('the policy is frozen', async (t) => {
  t.ok(Object.isFrozen(policyOf()))
})

t.test('createOriginPolicy defaults to no options and process.env', async (t) => {
  const saved = process.env.CORS_ORIGINS
  t.teardown(() => {
    if (saved === undefined) delete process.env.CORS_ORIGINS
    else process.env.CORS_ORIGINS = saved
  })
  process.env.CORS_ORIGINS = APP
  t.match(createOriginPolicy().decide(APP), { allowed: true })
})

t.test('appendVary adds tokens without losing or repeating any', async (t) => {
  const table: Array<[string | number | string[] | undefined, string, string]> = [
    [undefined, 'Origin', 'Origin'],
    ['', 'Origin', 'Origin'],
    ['Accept', 'Origin', 'Accept, Origin'],
    ['Accept-Encoding,Cookie', 'Origin', 'Accept-Encoding, Cookie, Origin'],
    [['Accept', 'Cookie'], 'Origin', 'Accept, Cookie, Origin'],
    ['origin', 'Origin', 'origin'],
    ['Accept, Origin', 'Origin', 'Accept, Origin'],
    ['Origin', PREFLIGHT_VARY, PREFLIGHT_VARY],
    ['Origin', 'Origin', 'Origin'],
    [PREFLIGHT_VARY, 'Origin', PREFLIGHT_VARY],
    ['Originals', 'Origin', 'Originals, Origin'],
    ['Accept, ', 'Origin', 'Accept, Origin'],
    [' , ', 'Origin', 'Origin'],
    ['*', 'Origin', '*'],
    ['Accept, *', 'Origin', '*']
  ]
  for (const [current, tokens, expected] of table) {
    t.equal(appendVary(current, tokens), expected, JSON.stringify(current))
  }
})
