import t from 'tap'
import Fastify, { type FastifyContextConfig } from 'fastify'
import { corsPolicy } from '../plugins/cors.js'

const APP = 'https://app.example.com'

/** Lets a test give a route the config a JavaScript caller could. */
function untyped (config: Record<string, unknown>): FastifyContextConfig {
  return config as FastifyContextConfig
}

interface Case {
  config: Record<string, unknown>
  setting: string
  message: RegExp
  fix: RegExp
}

const CASES: Record<string, Case> = {
  'a misspelt option, pointing at the closest name': { config: { cors: { origns: [APP] } }, setting: 'route GET /x: config.cors.origns', message: /is not an option of config\.cors/, fix: /rename it to `origins`/ },
  'an unknown option far from any name, listing them': { config: { cors: { zzzzzzzz: 1 } }, setting: 'route GET /x: config.cors.zzzzzzzz', message: /is not an option/, fix: /the options are origins, credentials, methods/ },
  'a plugin-wide option': { config: { cors: { decisionCacheSize: 5 } }, setting: 'route GET /x: config.cors.decisionCacheSize', message: /is plugin-wide, not per route/, fix: /set it in the options of corsPolicy/ },
  'a value that is neither false nor an object': { config: { cors: 'off' }, setting: 'route GET /x: config.cors', message: /off is neither false nor an options object/, fix: /pass `false`/ },
  'true, which would mean nothing more than leaving it out': { config: { cors: true }, setting: 'route GET /x: config.cors', message: /true is neither false nor an options object/, fix: /pass `false`/ },
  'an array': { config: { cors: [APP] }, setting: 'route GET /x: config.cors', message: /neither false nor an options object/, fix: /pass `false`/ },
  'a bad maxAge, named with the route': { config: { cors: { maxAge: -1 } }, setting: 'route GET /x: config.cors.maxAge', message: /-1 is not a whole number of seconds/, fix: /600/ },
  'a bad origin entry': { config: { cors: { origins: ['app.example.com'] } }, setting: 'route GET /x: config.cors.origins', message: /./, fix: /./ },
  '"*" with credentials on the route': { config: { cors: { origins: '*', credentials: true } }, setting: 'route GET /x: config.cors.origins', message: /"\*" with credentials/, fix: /list the origins/ },
  'an unknown refusal mode': { config: { cors: { refusal: 'Block' } }, setting: 'route GET /x: config.cors.refusal', message: /"Block" is not a refusal mode/, fix: /"omit-headers"/ },
  'corsRefusal contradicting cors.refusal': { config: { cors: { refusal: 'block' }, corsRefusal: 'omit-headers' }, setting: 'route GET /x: config.corsRefusal', message: /contradicts config\.cors\.refusal "block"/, fix: /keep one of them/ },
  '@fastify/cors\'s origin, pointing at origins': { config: { cors: { origin: [APP] } }, setting: 'route GET /x: config.cors.origin', message: /is called `origins` here/, fix: /rename it to `origins`/ },
  '@fastify/cors\'s origin: true': { config: { cors: { origin: true } }, setting: 'route GET /x: config.cors.origin', message: /reflects every Origin/, fix: /list the origins you trust/ },
  '@fastify/cors\'s hook': { config: { cors: { hook: 'preHandler' } }, setting: 'route GET /x: config.cors.hook', message: /"preHandler" is refused/, fix: /remove `hook`/ }
}

t.test('a route\'s CORS config is checked at registration: each bad key or value is an error naming the route and the setting', async (t) => {
  for (const [what, { config, setting, message, fix }] of Object.entries(CASES)) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(corsPolicy, { origins: [APP] })
    t.throws(() => app.get('/x', { config: untyped(config) }, async () => 'ran'), { name: 'CorsConfigError', setting, message, fix }, what)
  }
})

t.test('@fastify/cors options that mean what corsPolicy does anyway are accepted in a route\'s config', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [APP] })
  app.get('/x', { config: untyped({ cors: { hook: 'onRequest', preflight: true, preflightContinue: false, optionsSuccessStatus: 204, maxAge: undefined } }) }, async () => 'x')
  await app.ready()
  const response = await app.inject({ url: '/x', headers: { origin: APP } })
  t.equal(response.headers['access-control-allow-origin'], APP, 'and change nothing')
})

t.test('a route with its own CORS config may not have constraints, nor share its method and path with a constrained route', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [APP] })
  t.throws(() => app.get('/v', { constraints: { version: '1.0.0' }, config: { cors: false } }, async () => 'v'), {
    name: 'CorsConfigError', setting: 'route GET /v: config.cors', message: /constraints \(version\)/, fix: /without constraints/
  })
  app.delete('/h', { constraints: { host: 'api.example.com' } }, async () => 'h')
  t.throws(() => app.delete('/h', { config: { cors: false } }, async () => 'own'), {
    name: 'CorsConfigError', setting: 'route DELETE /h: config.cors', message: /DELETE \/h has both/
  }, 'constrained first')
  app.put('/p', { config: { cors: false } }, async () => 'own')
  t.throws(() => app.put('/p', { constraints: { host: 'api.example.com' } }, async () => 'p'), {
    name: 'CorsConfigError', setting: 'route PUT /p: config.cors', message: /PUT \/p has both/
  }, 'own config first')
  app.patch('/p', { constraints: { host: 'api.example.com' } }, async () => 'another method is fine')
  await app.ready()
})

t.test('an error that is not a configuration error passes through a route\'s config unchanged', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [APP] })
  class Exploding extends Array<string> {
    override [Symbol.iterator] (): ArrayIterator<string> { throw new TypeError('the host\'s own error') }
  }
  t.throws(() => app.get('/x', { config: untyped({ cors: { origins: new Exploding() } }) }, async () => 'x'), { name: 'TypeError', message: 'the host\'s own error' })
})
