import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import Fastify, { type FastifyContextConfig } from 'fastify'
import fastifyCors from '@fastify/cors'
import fp from 'fastify-plugin'
import { corsPolicy } from '../plugins/cors.js'

const APP = 'https://app.example.com'
const EVIL = 'https://evil.example'

/** Lets a test give a route the config a JavaScript caller could. */
function untypedConfig (corsRefusal: unknown): FastifyContextConfig {
  return { corsRefusal } as FastifyContextConfig
}

t.test('a route with an unknown corsRefusal is a registration error naming the route, the value and the valid values', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [APP] })
  for (const [value, shown] of [['Block', '"Block"'], [true, 'true (of type boolean)'], ['omit', '"omit"'], [null, 'null (of type object)'], [1, '1 (of type number)']] as const) {
    t.throws(() => app.post(`/callback-${String(value)}`, { config: untypedConfig(value) }, async () => 'ran'), {
      name: 'CorsConfigError',
      setting: `route POST /callback-${String(value)}: config.corsRefusal`,
      message: `${shown} is not a refusal mode`,
      fix: /"block".*"omit-headers"/
    }, String(value))
  }
})

t.test('an unknown corsRefusal inside a plugin makes ready() reject', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [APP] })
  app.register(async (child) => { child.get('/x', { config: untypedConfig('Block') }, async () => 'ran') })
  await t.rejects(async () => { await app.ready() }, { name: 'CorsConfigError', setting: 'route GET /x: config.corsRefusal' })
})

t.test('both valid corsRefusal values register', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [APP] })
  app.post('/a', { config: { corsRefusal: 'block' } }, async () => 'a')
  app.post('/b', { config: { corsRefusal: 'omit-headers' } }, async () => 'b')
  await app.ready()
  t.equal((await app.inject({ method: 'POST', url: '/a', headers: { origin: EVIL } })).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/b', headers: { origin: EVIL } })).statusCode, 200)
})

t.test('an unknown corsRefusal on a route registered before the plugin blocks (fail closed)', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  let ran = 0
  app.post('/early', { config: untypedConfig('Block') }, async () => { ran++; return 'ran' })
  await app.register(corsPolicy, { origins: [APP], refusal: 'omit-headers' })
  const response = await app.inject({ method: 'POST', url: '/early', headers: { origin: EVIL } })
  t.equal(response.statusCode, 403)
  t.equal(ran, 0, 'the handler did not run')
})

t.test('a second corsPolicy beside the first is refused, naming the conflict and the fix', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [APP] })
  await t.rejects(async () => { await app.register(corsPolicy, { origins: [EVIL] }) },
    { name: 'CorsConfigError', setting: 'corsPolicy', message: /registered twice/, fix: /register corsPolicy once/ })
})

t.test('a second corsPolicy nested in a child context is refused', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [APP] })
  app.register(async (child) => { await child.register(corsPolicy, { origins: [EVIL] }) })
  await t.rejects(async () => { await app.ready() }, { name: 'CorsConfigError', setting: 'corsPolicy', message: /registered twice/ })
})

t.test('two corsPolicy in sibling contexts on the same paths are refused', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(async (one) => { await one.register(corsPolicy, { origins: [APP] }) })
  app.register(async (two) => { await two.register(corsPolicy, { origins: [EVIL] }) })
  await t.rejects(async () => { await app.ready() }, { name: 'CorsConfigError', setting: 'corsPolicy', message: /already answers every preflight \(route OPTIONS \/\*\)/ })
})

t.test('corsPolicy in sibling contexts under different prefixes is fine', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.register(async (one) => { await one.register(corsPolicy, { origins: [APP] }); one.get('/x', async () => 'a') }, { prefix: '/a' })
  app.register(async (two) => { await two.register(corsPolicy, { origins: [EVIL] }); two.get('/x', async () => 'b') }, { prefix: '/b' })
  await app.ready()
  t.equal((await app.inject({ method: 'GET', url: '/a/x', headers: { origin: APP } })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/b/x', headers: { origin: APP } })).statusCode, 403)
})

t.test('@fastify/cors registered before corsPolicy is refused before corsPolicy changes anything', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyCors, { origin: [APP] })
  await t.rejects(async () => { await app.register(corsPolicy, { origins: [APP] }) },
    { name: 'CorsConfigError', setting: '@fastify/cors', message: /registered together with corsPolicy/, fix: /remove @fastify\/cors/ })
  t.equal(app.hasDecorator('originPolicy'), false, 'nothing decorated')
})

t.test('@fastify/cors registered after corsPolicy stops start-up with the same named error, not FST_ERR_DUPLICATED_ROUTE', async (t) => {
  const script = fileURLToPath(new URL('helpers/fastify-cors-after.ts', import.meta.url))
  const child = spawn(process.execPath, [...process.execArgv, script], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const timer = setTimeout(() => child.kill(), 60_000)
  const [code] = await once(child, 'exit') as [number | null]
  clearTimeout(timer)
  t.not(code, 0, 'the process did not start')
  t.notMatch(stdout, 'LISTENING', 'it never listened')
  t.match(stderr, 'CorsConfigError: @fastify/cors: is registered together with corsPolicy')
  t.match(stderr, 'Fix: remove @fastify/cors')
  t.notMatch(stderr, 'FST_ERR_DUPLICATED_ROUTE')
})

t.test('an async plugin adding @fastify/cors after corsPolicy makes ready() reject with the named error', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [APP] })
  app.register(async (child) => { child.options('*', async () => 'theirs') })
  await t.rejects(async () => { await app.ready() }, { name: 'CorsConfigError', setting: 'route OPTIONS *', message: /answers every preflight/ })
})

t.test('a catch-all OPTIONS route from a plugin named @fastify/cors, after corsPolicy, is named as @fastify/cors', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [APP] })
  // An async stand-in with @fastify/cors's name and route, so the rejection reaches ready().
  app.register(fp(async (instance) => { instance.options('*', async () => 'theirs') }, { name: '@fastify/cors' }))
  await t.rejects(async () => { await app.ready() }, { name: 'CorsConfigError', setting: '@fastify/cors', fix: /remove @fastify\/cors/ })
})

t.test('another catch-all OPTIONS route after corsPolicy is refused, naming the route', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [APP] })
  t.throws(() => app.options('*', async () => 'mine'), { name: 'CorsConfigError', setting: 'route OPTIONS *', message: /answers every preflight/ })
})
