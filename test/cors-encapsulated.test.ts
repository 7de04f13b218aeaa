import Fastify from 'fastify'
import { test } from 'tap'
import { corsPolicy } from '../index.js'

const allowed = 'https://app.example'

/** The way fastify-cli loads an app: as an encapsulated plugin, not at the root. */
async function encapsulatedApp () {
  const app = Fastify()
  await app.register(async (instance) => {
    await instance.register(corsPolicy, { origins: [allowed] })
    instance.get('/items', async () => ['item'])
  })
  return app
}

test('a preflight for a route without an OPTIONS handler is answered when the plugin is encapsulated', async (t) => {
  const app = await encapsulatedApp()
  t.teardown(() => app.close())
  const response = await app.inject({
    method: 'OPTIONS',
    url: '/items',
    headers: { origin: allowed, 'access-control-request-method': 'DELETE' }
  })
  t.equal(response.statusCode, 204)
  t.equal(response.headers['access-control-allow-origin'], allowed)
  t.equal(response.headers['access-control-max-age'], '600')
})

test('a refused preflight is 403 when the plugin is encapsulated', async (t) => {
  const app = await encapsulatedApp()
  t.teardown(() => app.close())
  const response = await app.inject({
    method: 'OPTIONS',
    url: '/items',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'DELETE' }
  })
  t.equal(response.statusCode, 403)
  t.equal(response.headers['access-control-allow-origin'], undefined)
})

test('a plain OPTIONS request without a route is still 404, with the grant for an allowed origin', async (t) => {
  const app = await encapsulatedApp()
  t.teardown(() => app.close())
  const response = await app.inject({ method: 'OPTIONS', url: '/items', headers: { origin: allowed } })
  t.equal(response.statusCode, 404)
  t.equal(response.headers['access-control-allow-origin'], allowed)
})
