import Fastify from 'fastify'
import t from 'tap'
import { corsPolicy } from '../plugins/cors.js'

// @fastify/static's catch-all route was the only route of the suite without `config` (the example now
// serves its files from routes of its own, with `corsRefusal`): a route without config is prepared too.
t.test('a route added by fastify.route() without config gets the plugin-wide refusal', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: ['https://app.example'] })
  let config: unknown = 'unset'
  app.addHook('onRoute', (route) => { if (route.url === '/bare') config = route.config })
  app.route({ method: 'GET', url: '/bare', handler: async () => 'ok' })
  await app.ready()
  t.equal(config, undefined, 'the route has no config')
  t.equal((await app.inject({ url: '/bare', headers: { origin: 'https://evil.example' } })).statusCode, 403)
  t.equal((await app.inject({ url: '/bare', headers: { origin: 'https://app.example' } })).headers['access-control-allow-origin'], 'https://app.example')
})
