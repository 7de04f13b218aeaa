import Fastify, { type FastifyInstance } from 'fastify'
import { Adapter, SessionAwareAdapter } from 'socket.io-adapter'
import t from 'tap'
import { closestName } from '../lib/closest-name.js'
import type { CorsPolicyOptions } from '../lib/config.js'
import { CorsConfigError } from '../lib/errors.js'
import { corsPolicy } from '../plugins/cors.js'
import { realtime } from '../plugins/realtime.js'
import type { RealtimeOptions } from '../plugins/realtime-types.js'
import { logCollector, type LogLine, type TestLike } from './helpers/realtime.js'

const base = { authenticate: () => undefined, isAdmin: () => false }

/** A Fastify app with corsPolicy registered and its log lines collected. */
async function appWithPolicy (t: TestLike, cors: CorsPolicyOptions = { origins: ['https://app.example'] }): Promise<{ app: FastifyInstance, logs: LogLine[] }> {
  const { logs, stream } = logCollector()
  const app = Fastify({ logger: { level: 'warn', stream } })
  t.teardown(() => app.close())
  await app.register(corsPolicy, cors)
  return { app, logs }
}

/** The error registering realtime with these options fails with (throws if it does not fail). */
async function refusal (t: TestLike, options: Record<string, unknown>, cors?: CorsPolicyOptions): Promise<CorsConfigError> {
  const { app } = await appWithPolicy(t, cors)
  const error = await app.register(realtime, { ...base, ...options } as RealtimeOptions).ready().then(() => undefined, (error: unknown) => error)
  if (!(error instanceof CorsConfigError)) throw new Error(`expected a CorsConfigError, got ${String(error)}`)
  return error
}

t.test('closestName finds the typo, and nothing for a name that is no typo', async (t) => {
  const names = ['requireOrigin', 'recoveryWindowMs', 'shutdownGraceMs', 'path']
  t.equal(closestName('requireOrign', names), 'requireOrigin')
  t.equal(closestName('requireorigin', names), 'requireOrigin', 'case is ignored')
  t.equal(closestName('recoveryWindow', names), 'recoveryWindowMs')
  t.equal(closestName('pth', names), 'path')
  t.equal(closestName('banana', names), undefined)
  t.equal(closestName('x', []), undefined)
})

t.test('a misspelled option is refused with the closest valid name', async (t) => {
  for (const [typo, meant] of [['requireOrign', 'requireOrigin'], ['recoveryWindow', 'recoveryWindowMs'], ['pingIntervall', 'pingInterval'], ['cleanupEmptyChildNamespace', 'cleanupEmptyChildNamespaces']]) {
    const error = await refusal(t, { [typo!]: true })
    t.equal(error.setting, typo)
    t.match(error.message, /is not an option of realtime nor of socket\.io\/engine\.io/)
    t.equal(error.fix, `did you mean \`${meant!}\`?`)
  }
  const far = await refusal(t, { banana: 1 })
  t.match(far.fix, /^remove it; the options are authenticate, isAdmin, verifyHandshake, requireOrigin, .* and socket\.io's path, adapter/)
})

t.test('numbers out of range, NaN, Infinity and strings are refused', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['recoveryWindowMs', Infinity], ['recoveryWindowMs', Number.NaN], ['recoveryWindowMs', '120000'], ['recoveryWindowMs', -1],
    ['recoveryWindowMs', 1.5], ['recoveryWindowMs', 86_400_001], ['shutdownGraceMs', -5], ['shutdownGraceMs', 60_001],
    ['maxNamespacesPerConnection', 0], ['maxNamespacesPerConnection', 1001], ['pingInterval', 0], ['pingTimeout', 2 ** 31],
    ['connectTimeout', '45s'], ['maxHttpBufferSize', Infinity]
  ]
  for (const [name, value] of cases) {
    const error = await refusal(t, { [name]: value })
    t.equal(error.setting, name, `${name}: ${String(value)}`)
    t.match(error.message, /is not a whole number from \d+ to \d+/)
  }
})

t.test('booleans, functions, the dashboard namespace and cookiePlugin are type-checked', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['requireOrigin', 'yes', /is not a boolean/], ['allowAnyOrigin', 1, /is not a boolean/], ['cleanupEmptyChildNamespaces', 'false', /is not a boolean/],
    ['authenticate', 'fn', /is required/], ['isAdmin', true, /is required/], ['verifyHandshake', {}, /is not a function/],
    ['dashboardNamespace', 'admin', /is not a namespace name/], ['dashboardNamespace', 3, /is not a namespace name/],
    ['cookiePlugin', 'secret', /is not an options object/], ['cookiePlugin', null, /is not an options object/]
  ]
  for (const [name, value, problem] of cases) {
    const error = await refusal(t, { [name]: value })
    t.equal(error.setting, name, `${name}: ${String(value)}`)
    t.match(error.message, problem)
  }
})

t.test('destroyUpgrade other than true is refused before any effect, pointing at destroyUpgradeTimeout; true passes', async (t) => {
  for (const value of [false, 'no', 0]) {
    const { app } = await appWithPolicy(t)
    const listeners = app.server.listenerCount('upgrade')
    const error = await app.register(realtime, { ...base, destroyUpgrade: value } as unknown as RealtimeOptions).ready().then(() => undefined, (error: unknown) => error)
    t.type(error, CorsConfigError, `destroyUpgrade: ${String(value)}`)
    t.equal((error as CorsConfigError).setting, 'destroyUpgrade')
    t.match((error as Error).message, /is refused: upgrades outside the Socket\.IO path that no listener answers would stay open for good/)
    t.match((error as CorsConfigError).fix, /remove destroyUpgrade; if another upgrade listener needs longer to answer, raise `destroyUpgradeTimeout`/)
    t.equal(app.server.listenerCount('upgrade'), listeners, 'no gate installed')
  }
  const { app } = await appWithPolicy(t)
  await app.register(realtime, { ...base, destroyUpgrade: true })
  t.ok(app.hasDecorator('io'), 'destroyUpgrade: true, engine.io\'s default, is accepted')
})

t.test('the defaults apply to options left out or undefined; server options and register options pass', async (t) => {
  const { app } = await appWithPolicy(t)
  await app.register(realtime, { ...base, recoveryWindowMs: undefined, pingInterval: 5000, prefix: '/x', logLevel: 'warn' } as RealtimeOptions)
  await app.ready()
  const opts = (app.io as unknown as { opts: { connectionStateRecovery: object, cleanupEmptyChildNamespaces: boolean } }).opts
  t.match(opts.connectionStateRecovery, { maxDisconnectionDuration: 120_000, skipMiddlewares: false })
  t.equal(opts.cleanupEmptyChildNamespaces, true)
  t.equal(app.io.engine.opts.pingInterval, 5000)
  t.equal(app.dashboard.namespace.name, '/admin')
})

t.test('an adapter of the host app is used as given; without one, recovery gets the adapter that clears its timer', async (t) => {
  const { app } = await appWithPolicy(t)
  await app.register(realtime, { ...base, adapter: Adapter })
  t.equal(app.io.adapter(), Adapter)
  const other = await appWithPolicy(t)
  await other.app.register(realtime, base)
  t.not(other.app.io.adapter(), Adapter)
  t.ok(Object.getPrototypeOf(other.app.io.adapter()) === SessionAwareAdapter, 'a SessionAwareAdapter')
})

t.test('registering realtime twice fails on the first check, before a second gate is installed', async (t) => {
  const { app } = await appWithPolicy(t)
  const before = app.server.listenerCount('upgrade')
  await app.register(realtime, base)
  app.register(realtime, base)
  const error = await app.ready().then(() => undefined, (error: unknown) => error)
  t.type(error, CorsConfigError)
  t.equal((error as CorsConfigError).setting, 'realtime')
  t.match((error as Error).message, /already registered on this instance/)
  t.match((error as CorsConfigError).fix, /register realtime once/)
  t.equal(app.server.listenerCount('upgrade'), before + 1, 'one gate, the first one')
})

t.test('origins "*" is refused unless allowAnyOrigin acknowledges it, which then warns', async (t) => {
  const error = await refusal(t, {}, { origins: '*' })
  t.equal(error.setting, 'origins')
  t.match(error.message, /browsers send cookies on every WebSocket upgrade/)
  t.match(error.fix, /allowAnyOrigin: true/)

  const { app, logs } = await appWithPolicy(t, { origins: '*' })
  await app.register(realtime, { ...base, allowAnyOrigin: true })
  await app.ready()
  t.match(logs.find((line) => /^allowAnyOrigin: any site can open a socket/.test(line.msg)), { level: 40 })

  const stale = await refusal(t, { allowAnyOrigin: true })
  t.equal(stale.setting, 'allowAnyOrigin')
  t.match(stale.message, /origins of corsPolicy are not "\*"/)
})

t.test('entries any site can use (a RegExp on any domain, a public-suffix wildcard) are refused by realtime even without credentials', async (t) => {
  for (const origins of [[/https?:\/\/.+/], ['https://*.github.io']]) {
    const { app } = await appWithPolicy(t, { origins })
    const error = await app.register(realtime, base).ready().then(() => undefined, (error: unknown) => error)
    t.type(error, CorsConfigError, String(origins[0]))
    t.match((error as Error).message, /with the realtime plugin \(browsers send cookies on every WebSocket upgrade/)
  }
  const { app } = await appWithPolicy(t, { origins: [/https:\/\/pr-\d+\.preview\.example\.com/, 'https://*.app.example.com'] })
  await app.register(realtime, base)
  await app.ready()
  t.ok(app.hasDecorator('io'), 'a pinned RegExp and a wildcard under an owned domain are accepted')
})

t.test('http:// and wildcard entries are warned about by realtime without credentials, once with them', async (t) => {
  const origins = ['http://plain.example', 'https://*.example.com', 'https://app.example']
  const without = await appWithPolicy(t, { origins })
  await without.app.register(realtime, base)
  await without.app.ready()
  const risky = (logs: LogLine[]): string[] => logs.filter((line) => /plain http|wildcard/.test(line.msg)).map((line) => line.msg)
  t.same(risky(without.logs), [
    'WebSocket upgrades carry cookies whatever CORS says: origin http://plain.example is plain http with credentials: anyone on its network path can act as it',
    'WebSocket upgrades carry cookies whatever CORS says: wildcard https://*.example.com with credentials trusts every subdomain; an XSS or takeover on any of them reads your users\' data'
  ])

  const withCredentials = await appWithPolicy(t, { origins, credentials: true })
  await withCredentials.app.register(realtime, base)
  await withCredentials.app.ready()
  t.equal(risky(withCredentials.logs).length, 2, 'corsPolicy logged them; realtime does not repeat them')
})
