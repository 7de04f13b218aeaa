import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import t from 'tap'
import Fastify from 'fastify'
import fastifySwagger from '@fastify/swagger'
import { corsPolicy } from '../plugins/cors.js'
import type { CorsPolicyOptions } from '../lib/config.js'

const APP = 'https://app.example.com'

interface Row {
  value: unknown
  /** Refused: the error's message and fix. Accepted: undefined. */
  refused?: { message: RegExp, fix: RegExp }
}

/**
 * Every option name of @fastify/cors, with a value each: accepted where corsPolicy gives it the same
 * meaning, refused with the reason and the replacement otherwise. Several rows per name where one value
 * is accepted and another refused.
 */
const TABLE: ReadonlyArray<[string, Row]> = [
  ['origin', { value: [APP], refused: { message: /is called `origins` here/, fix: /rename it to `origins`/ } }],
  ['origin', { value: APP, refused: { message: /is called `origins` here/, fix: /rename it to `origins`/ } }],
  ['origin', { value: true, refused: { message: /true reflects every Origin back as allowed, so any site reads the responses/, fix: /list the origins you trust in `origins`, or use `origins: '\*'`/ } }],
  ['origin', { value: false, refused: { message: /false turns CORS off; corsPolicy turns it off per route/, fix: /`config: \{ cors: false \}`/ } }],
  ['origin', { value: () => true, refused: { message: /is a function/, fix: /use an `origins` function \(see docs\/options\.md\)/ } }],
  ['delegator', { value: () => ({}), refused: { message: /a function is refused: @fastify\/cors's options-per-request function/, fix: /use an `origins` function .*`config: \{ cors: \{ … \} \}`/ } }],
  ['methods', { value: 'GET,PUT' }],
  ['allowedHeaders', { value: ['X-Token'] }],
  ['exposedHeaders', { value: 'X-Request-Id' }],
  ['credentials', { value: true }],
  ['maxAge', { value: 60 }],
  ['cacheControl', { value: 'max-age=60' }],
  ['hideOptionsRoute', { value: false }],
  ['logLevel', { value: 'warn' }],
  ['hook', { value: 'onRequest' }],
  ['hook', { value: 'preHandler', refused: { message: /"preHandler" is refused: it would move the CORS decision out of onRequest/, fix: /remove `hook`/ } }],
  ['preflight', { value: true }],
  ['preflight', { value: false, refused: { message: /false is refused: it would leave preflights to the routes/, fix: /`config: \{ cors: false \}`/ } }],
  ['strictPreflight', { value: true, refused: { message: /true is refused: it has no meaning here: an OPTIONS request without Origin or Access-Control-Request-Method is not a preflight/, fix: /remove `strictPreflight`/ } }],
  ['strictPreflight', { value: false, refused: { message: /false is refused/, fix: /remove `strictPreflight`/ } }],
  ['preflightContinue', { value: false }],
  ['preflightContinue', { value: true, refused: { message: /true is refused: it would pass a granted preflight on/, fix: /remove `preflightContinue`/ } }],
  ['optionsSuccessStatus', { value: 204 }],
  ['optionsSuccessStatus', { value: 200, refused: { message: /200 is refused: a preflight is always answered 204 here/, fix: /remove `optionsSuccessStatus`/ } }]
]

/** The option names @fastify/cors's README lists (`* \`name\`: …`), and `delegator`, which it documents in prose. */
async function fastifyCorsOptionNames (): Promise<string[]> {
  const readme = await readFile(createRequire(import.meta.url).resolve('@fastify/cors/README.md'), 'utf8')
  return [...new Set([...readme.matchAll(/^\* `([a-zA-Z]+)`/gm)].map((match) => match[1]!)), 'delegator'].sort()
}

t.test('every option name of @fastify/cors is accepted with the same meaning or refused with the reason and the replacement', async (t) => {
  t.same([...new Set(TABLE.map(([name]) => name))].sort(), await fastifyCorsOptionNames(), 'the table covers @fastify/cors\'s README, no more, no less')
  for (const [name, { value, refused }] of TABLE) {
    const app = Fastify()
    t.teardown(() => app.close())
    const register = async (): Promise<void> => { await app.register(corsPolicy, { origins: [APP], [name]: value } as CorsPolicyOptions) }
    if (refused === undefined) await t.resolves(register, `${name}: ${String(value)} accepted`)
    else await t.rejects(register, { name: 'CorsConfigError', setting: name, message: refused.message, fix: refused.fix }, `${name}: ${String(value)} refused`)
  }
})

t.test('the catch-all OPTIONS * route is left out of the OpenAPI document, unless hideOptionsRoute is false', async (t) => {
  for (const hideOptionsRoute of [undefined, false]) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(fastifySwagger, { openapi: { info: { title: 'test', version: '1' } } })
    await app.register(corsPolicy, { origins: [APP], hideOptionsRoute })
    app.get('/data', async () => 'data')
    await app.ready()
    const paths = Object.keys((app.swagger() as { paths: Record<string, unknown> }).paths)
    t.ok(paths.includes('/data'), 'the document lists the app\'s routes')
    if (hideOptionsRoute === false) t.ok(paths.some((path) => path.includes('*')), 'listed with hideOptionsRoute: false (the control)')
    else t.notOk(paths.some((path) => path.includes('*')), 'OPTIONS * is hidden by default')
  }
})

t.test('the register() logLevel reaches the preflight route: "silent" drops the preflights\' request log lines only', async (t) => {
  for (const logLevel of ['silent', undefined] as const) {
    const lines: Array<{ msg: string, req?: { method?: string } }> = []
    const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line) as { msg: string }) } } } })
    t.teardown(() => app.close())
    await app.register(corsPolicy, { origins: [APP], ...(logLevel === undefined ? {} : { logLevel }) })
    app.put('/data', async () => 'data')
    await app.ready()
    const preflight = await app.inject({ method: 'OPTIONS', url: '/data', headers: { origin: APP, 'access-control-request-method': 'PUT' } })
    t.equal(preflight.statusCode, 204)
    // The sentinel: a request after the preflight, on the same logger, that must be logged.
    await app.inject({ method: 'PUT', url: '/data', headers: { origin: APP } })
    t.ok(lines.some((line) => line.msg === 'incoming request' && line.req?.method === 'PUT'), `${String(logLevel)}: the sentinel request is logged`)
    const preflightLines = lines.filter((line) => line.req?.method === 'OPTIONS').length
    if (logLevel === 'silent') t.equal(preflightLines, 0, 'no line for the preflight')
    else t.ok(preflightLines > 0, 'without logLevel the preflight is logged (the control)')
  }
})
