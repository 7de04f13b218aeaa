import type { FastifyCookieOptions } from '@fastify/cookie'
import type { FastifyInstance } from 'fastify'
import { closestName } from '../lib/closest-name.js'
import { realtimeOriginWarnings } from '../lib/config-check.js'
import type { CorsConfig } from '../lib/config.js'
import { CorsConfigError } from '../lib/errors.js'
import type { PolicyCheck } from '../lib/live-policy.js'
import { gatePrefix } from './engine-gate.js'
import { checkCookieOptions } from './handshake-cookies.js'
import type { RealtimeOptions } from './realtime-types.js'

/**
 * Every option of the plugin with a default, in one place (the docs' options table follows it).
 * `cleanupEmptyChildNamespaces` is socket.io's, on here: a child of a dynamic namespace whose CONNECT
 * was refused would otherwise stay in memory for good.
 */
export const defaultOptions = Object.freeze({
  requireOrigin: false,
  allowAnyOrigin: false,
  dashboardNamespace: '/admin',
  recoveryWindowMs: 120_000,
  shutdownGraceMs: 1000,
  maxNamespacesPerConnection: 5,
  presenceTimeoutMs: 1000,
  cleanupEmptyChildNamespaces: true,
  topicRateHz: 10,
  topicRates: Object.freeze({}) as Readonly<Record<string, number>>,
  maxTopics: 100,
  alertBacklog: 50,
  cookiePlugin: Object.freeze({}) as FastifyCookieOptions
})

const OWNED_OPTIONS: Readonly<Record<string, string>> = {
  cors: 'CORS headers come from the corsPolicy plugin\'s options; remove `cors`',
  allowRequest: 'the origin check is built in; put your own handshake check in `verifyHandshake`',
  serveClient: 'serve `socket.io/client-dist/socket.io.min.js` as a static file instead',
  connectionStateRecovery: 'use `recoveryWindowMs`',
  // fastify-socket.io's option (its README, "Hooks"): a function run instead of its default preClose.
  preClose: 'realtime\'s own preClose hook disconnects every socket and cuts what is left after `shutdownGraceMs`; for work of yours before that, add `app.addHook(\'preClose\', …)` before registering realtime (Fastify runs preClose hooks in registration order)'
}
const PLUGIN_OPTIONS = ['authenticate', 'isAdmin', 'verifyHandshake', ...Object.keys(defaultOptions), 'adapterReady']
/**
 * socket.io and engine.io server options passed through as they are: the names of socket.io
 * `dist/index.d.ts` `ServerOptions` and engine.io `build/server.d.ts` `ServerOptions`/`AttachOptions`.
 */
const SERVER_OPTIONS = ['path', 'adapter', 'parser', 'connectTimeout', 'pingTimeout', 'pingInterval', 'upgradeTimeout',
  'maxHttpBufferSize', 'httpRequestBodyTimeout', 'transports', 'allowUpgrades', 'perMessageDeflate', 'httpCompression',
  'maxBufferedChunks', 'wsEngine', 'initialPacket', 'cookie', 'allowEIO3', 'destroyUpgrade', 'destroyUpgradeTimeout', 'addTrailingSlash']
/** Fastify's own `register()` options reach the plugin too; they are not ours to refuse. */
const REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers'])
const KNOWN_OPTIONS = new Set([...PLUGIN_OPTIONS, ...SERVER_OPTIONS, ...REGISTER_OPTIONS])
/** Server options in ms: Node's timers fire at once beyond 2^31 − 1 ms. */
const SERVER_DURATIONS = ['connectTimeout', 'pingTimeout', 'pingInterval', 'upgradeTimeout', 'httpRequestBodyTimeout', 'destroyUpgradeTimeout']
const MAX_TIMER_MS = 2 ** 31 - 1
const DAY_MS = 24 * 60 * 60 * 1000

export type Resolved = RealtimeOptions & Required<Pick<RealtimeOptions, keyof typeof defaultOptions>>

/**
 * Checks every option before the plugin has any effect; returns them over the defaults, the URL prefix to
 * gate, and the origin warnings to log (from `realtimeOriginWarnings`, which the CLI's `check` calls too).
 */
export function validate (fastify: FastifyInstance, options: RealtimeOptions): { resolved: Resolved, enginePrefix: string, originWarnings: string[] } {
  if (!fastify.hasDecorator('originPolicy')) {
    throw new CorsConfigError('realtime', 'needs the origin policy of the corsPolicy plugin, which is not registered',
      'register corsPolicy first: `await app.register(corsPolicy, { origins })`, then `await app.register(realtime, …)`')
  }
  if (fastify.hasDecorator('io') || fastify.hasDecorator('dashboard')) {
    throw new CorsConfigError('realtime', 'is already registered on this instance (`fastify.io` exists): a second Socket.IO server cannot share its HTTP server',
      'register realtime once, and add namespaces with `app.io.of(name)`')
  }
  for (const name of Object.keys(options)) {
    if (name in OWNED_OPTIONS) throw new CorsConfigError(name, 'is set by this plugin', OWNED_OPTIONS[name]!)
    if (!KNOWN_OPTIONS.has(name)) {
      const closest = closestName(name, [...PLUGIN_OPTIONS, ...SERVER_OPTIONS])
      throw new CorsConfigError(name, 'is not an option of realtime nor of socket.io/engine.io', closest === undefined
        ? `remove it; the options are ${PLUGIN_OPTIONS.join(', ')} and socket.io's ${SERVER_OPTIONS.join(', ')}`
        : `did you mean \`${closest}\`?`)
    }
  }
  const resolved = { ...defaultOptions, ...withoutUndefined(options) } as Resolved
  expectFunction('authenticate', resolved.authenticate, 'is required', 'pass `authenticate: async (handshake) => user | undefined`, e.g. reading handshake.signedCookies')
  expectFunction('isAdmin', resolved.isAdmin, 'is required: without it nobody could be trusted with the dashboard', 'pass `isAdmin: (user) => user.role === \'admin\'`')
  if (resolved.verifyHandshake !== undefined) expectFunction('verifyHandshake', resolved.verifyHandshake, 'is not a function', 'pass `verifyHandshake: (request) => boolean`, or leave it out')
  if (resolved.adapterReady !== undefined) expectFunction('adapterReady', resolved.adapterReady, 'is not a function', 'pass `adapterReady: () => redis.isReady`, or leave it out')
  for (const name of ['requireOrigin', 'allowAnyOrigin', 'cleanupEmptyChildNamespaces'] as const) {
    if (typeof resolved[name] !== 'boolean') throw new CorsConfigError(name, `${describe(resolved[name])} is not a boolean`, 'pass true or false')
  }
  if (typeof resolved.dashboardNamespace !== 'string' || !resolved.dashboardNamespace.startsWith('/')) {
    throw new CorsConfigError('dashboardNamespace', `${describe(resolved.dashboardNamespace)} is not a namespace name`, 'pass a string starting with "/", e.g. "/admin"')
  }
  if (typeof resolved.cookiePlugin !== 'object' || resolved.cookiePlugin === null) {
    throw new CorsConfigError('cookiePlugin', `${describe(resolved.cookiePlugin)} is not an options object`, 'pass @fastify/cookie options such as `{ secret }`')
  }
  checkCookieOptions(resolved.cookiePlugin)
  expectInteger('recoveryWindowMs', resolved.recoveryWindowMs, 0, DAY_MS, 'e.g. 120000 (2 minutes); 0 turns recovery off')
  expectInteger('shutdownGraceMs', resolved.shutdownGraceMs, 0, 60_000, 'e.g. 1000')
  expectInteger('presenceTimeoutMs', resolved.presenceTimeoutMs, 1, 60_000, 'e.g. 1000')
  expectRate('topicRateHz', resolved.topicRateHz)
  if (typeof resolved.topicRates !== 'object' || resolved.topicRates === null || Array.isArray(resolved.topicRates)) {
    throw new CorsConfigError('topicRates', `${describe(resolved.topicRates)} is not an object of topics to rates`, 'pass e.g. `{ metrics: 1 }` (times a second)')
  }
  for (const [topic, rate] of Object.entries(resolved.topicRates)) expectRate(`topicRates.${topic}`, rate)
  expectInteger('maxTopics', resolved.maxTopics, 1, 10_000, 'e.g. 100')
  expectInteger('alertBacklog', resolved.alertBacklog, 0, 1000, 'e.g. 50; 0 keeps no backlog')
  expectInteger('maxNamespacesPerConnection', resolved.maxNamespacesPerConnection, 1, 1000, 'e.g. 5, one more than the namespaces one client joins')
  for (const name of SERVER_DURATIONS) {
    const value = (resolved as unknown as Record<string, unknown>)[name]
    if (value !== undefined) expectInteger(name, value, 1, MAX_TIMER_MS, 'a whole number of milliseconds, e.g. 20000')
  }
  if (resolved.maxHttpBufferSize !== undefined) expectInteger('maxHttpBufferSize', resolved.maxHttpBufferSize, 1, Number.MAX_SAFE_INTEGER, 'a whole number of bytes, e.g. 1e6')
  // engine.io `attach()` with `destroyUpgrade: false` leaves an upgrade outside its path open for good if no
  // other listener answers it; the HTTP server's timeouts no longer apply to a socket handed to `upgrade`
  // listeners (Node `lib/_http_server.js` `onParserExecuteCommon()` removes its timeout listener and frees
  // the parser first), so each such upgrade would hold a socket until the peer leaves.
  if (resolved.destroyUpgrade !== undefined && resolved.destroyUpgrade !== true) {
    throw new CorsConfigError('destroyUpgrade', `${describe(resolved.destroyUpgrade)} is refused: upgrades outside the Socket.IO path that no listener answers would stay open for good, each holding a socket`,
      `remove destroyUpgrade; if another upgrade listener needs longer to answer, raise \`destroyUpgradeTimeout\` (ms, up to ${MAX_TIMER_MS})`)
  }
  const enginePrefix = gatePrefix(fastify.server, resolved.path, resolved.addTrailingSlash)
  const originWarnings = realtimeOriginWarnings(fastify.originPolicy.config, resolved)
  return { resolved, enginePrefix, originWarnings }
}

/**
 * What the realtime plugin refuses of corsPolicy's list, on every `originPolicy.update()`: the rules
 * of its start-up (`realtimeOriginWarnings`), the same function.
 */
export function originCheck (allowAnyOrigin: boolean): PolicyCheck {
  return (config: CorsConfig) => { realtimeOriginWarnings(config, { allowAnyOrigin }) }
}

/** Logs the risks of the allowlist for cookie-authenticated sockets (see `realtimeOriginWarnings`). */
export function logOriginRisks (fastify: FastifyInstance, warnings: readonly string[]): void {
  for (const warning of warnings) fastify.log.warn({ plugin: 'fastify-cors-io:realtime' }, warning)
}

function expectFunction (setting: string, value: unknown, problem: string, fix: string): void {
  if (typeof value !== 'function') throw new CorsConfigError(setting, problem, fix)
}

function expectInteger (setting: string, value: unknown, min: number, max: number, fix: string): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new CorsConfigError(setting, `${describe(value)} is not a whole number from ${min} to ${max}`, `use ${fix}`)
  }
}

/** A topic rate in sends per second; 1000 is one per millisecond, the finest a timer gives. */
function expectRate (setting: string, value: unknown): void {
  if (typeof value !== 'number' || !(value >= 0.01 && value <= 1000)) {
    throw new CorsConfigError(setting, `${describe(value)} is not a rate from 0.01 to 1000 per second`, 'use e.g. 10 (ten times a second) or 0.2 (every 5 seconds)')
  }
}

function withoutUndefined (options: RealtimeOptions): Partial<RealtimeOptions> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<RealtimeOptions>
}

function describe (value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value)
}
