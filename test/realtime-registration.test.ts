import Fastify from 'fastify'
import t from 'tap'
import { CorsConfigError } from '../lib/errors.js'
import { corsPolicy } from '../plugins/cors.js'
import { realtime } from '../plugins/realtime.js'
import type { RealtimeOptions } from '../plugins/realtime-types.js'
import { registrationError } from './helpers/realtime.js'

/** socket.io keeps its options private; the tests read them anyway. */
const optsOf = (app: { io: object }): Record<string, unknown> => (app.io as unknown as { opts: Record<string, unknown> }).opts

const base: RealtimeOptions = { authenticate: () => undefined, isAdmin: () => false }

t.test('is a fastify-plugin named for fastify 5', async (t) => {
  const meta = (realtime as unknown as Record<symbol, { name: string, fastify: string }>)[Symbol.for('plugin-meta')]
  t.match(meta, { name: 'fastify-cors-io:realtime', fastify: '5.x' })
})

t.test('without the CORS plugin registration fails and says to register it first', async (t) => {
  const error = await registrationError({ ...base }, { cors: false })
  t.type(error, CorsConfigError)
  t.match((error as Error).message, /register corsPolicy first/)
})

for (const name of ['cors', 'allowRequest', 'serveClient', 'connectionStateRecovery']) {
  t.test(`the owned option ${name} is refused with a clear error`, async (t) => {
    const error = await registrationError({ ...base, [name]: name === 'cors' ? { origin: '*' } : () => true })
    t.type(error, CorsConfigError)
    t.equal((error as CorsConfigError).setting, name)
    t.match((error as Error).message, /is set by this plugin/)
  })
}

t.test('authenticate and isAdmin are required', async (t) => {
  t.equal(((await registrationError({ isAdmin: base.isAdmin })) as CorsConfigError).setting, 'authenticate')
  t.equal(((await registrationError({ authenticate: base.authenticate })) as CorsConfigError).setting, 'isAdmin')
})

t.test('other Socket.IO/engine.io options pass through; io and dashboard are decorated', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: ['https://app.example'] })
  await app.register(realtime, { ...base, path: '/live', pingInterval: 1234, maxHttpBufferSize: 4096, connectTimeout: 999 })
  await app.ready()
  t.equal(app.io.path(), '/live')
  t.equal(app.io.engine.opts.pingInterval, 1234)
  t.equal(app.io.engine.opts.maxHttpBufferSize, 4096)
  t.equal(app.io.engine.opts.allowRequest, undefined, 'no allowRequest without verifyHandshake')
  t.notOk(app.io.engine.opts.cors, 'engine.io never gets a cors option')
  t.equal(app.io.connectTimeout(), 999)
  t.match(optsOf(app).connectionStateRecovery, { maxDisconnectionDuration: 120000, skipMiddlewares: false })
  t.equal(app.dashboard.namespace, app.io.of('/admin'))
})

t.test('recoveryWindowMs sets the recovery window, 0 turns it off', async (t) => {
  for (const [windowMs, expected] of [[5000, { maxDisconnectionDuration: 5000 }], [0, undefined]] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(corsPolicy, { origins: ['https://app.example'] })
    await app.register(realtime, { ...base, recoveryWindowMs: windowMs })
    t.match(optsOf(app).connectionStateRecovery, expected as object | undefined)
  }
})
