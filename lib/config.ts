import { parseAllowlist, type Allowlist, type AllowlistEntry } from './allowlist.js'
import { closestName } from './closest-name.js'
import { CorsConfigError } from './errors.js'
import { checkFastifyCorsOption, FASTIFY_CORS_ONLY } from './fastify-cors-options.js'
import { defaultOriginsCache, resolveOriginsCache, type OriginsCacheConfig, type OriginsCacheOptions, type OriginsFunction } from './origin-resolver.js'

export type RefusalMode = 'block' | 'omit-headers' | 'report-only'
/** A route's `config.corsRefusal`: report-only is the whole policy's roll-out mode, never one route's. */
export type RouteRefusalMode = Exclude<RefusalMode, 'report-only'>

/** Options of the `corsPolicy` plugin; names follow @fastify/cors where the meaning is the same. */
export interface CorsPolicyOptions {
  /**
   * Exact origins, `scheme://*.domain[:port]` wildcards, RegExps, or `*` alone. Env: `CORS_ORIGINS`.
   * Or a function deciding each origin (an allowlist in a database), memoized per `originsCache`.
   */
  origins?: string | readonly AllowlistEntry[] | OriginsFunction
  /** With an `origins` function: TTLs, bound, timeout and rate cap of its lookups (see docs/options.md). */
  originsCache?: OriginsCacheOptions
  /** Send `Access-Control-Allow-Credentials: true` (cookies, HTTP auth). Default `false`. Env: `CORS_CREDENTIALS`. */
  credentials?: boolean
  /** Methods granted by a preflight. Default `GET, HEAD, PUT, PATCH, POST, DELETE`. */
  methods?: string | readonly string[]
  /** Request headers granted by a preflight. Default `Content-Type, Authorization`. */
  allowedHeaders?: string | readonly string[]
  /** Response headers exposed to the page. Default none. */
  exposedHeaders?: string | readonly string[]
  /** `Access-Control-Max-Age` in seconds, 0–86400. Default 600 (WebKit's cap). Env: `CORS_MAX_AGE`. */
  maxAge?: number
  /** `Cache-Control` on successful preflights: seconds (→ `max-age=N`) or a header value. Default none. */
  cacheControl?: number | string
  /** Answer Private Network Access preflights (legacy Chrome). Default `false`. Env: `CORS_PRIVATE_NETWORK`. */
  privateNetwork?: boolean
  /**
   * `block` (default): a refused Origin gets 403 and the handler does not run. `omit-headers`: served without CORS headers.
   * `report-only`: an origin the list would refuse is served as if listed, counted and logged as "would refuse" (docs/operations.md).
   */
  refusal?: RefusalMode
  /** Bound of the memo of non-exact decisions (wildcard, RegExp, refusals). Default 1000. */
  decisionCacheSize?: number
  /** A file holding the allowlist, reloaded on change and on SIGHUP. Default none. Env: `CORS_ORIGINS_FILE`. */
  originsFile?: string
  /** Reload `originsFile` when it changes (SIGHUP always reloads it). Default `true`. */
  watchOriginsFile?: boolean
  /** How many origins `originPolicy.stats()` counts one by one (the least counted makes room). Default 100. */
  statsOrigins?: number
  /** Prometheus metrics in the host's prom-client registry (prom-client is loaded only then). Default none. */
  metrics?: { registry: MetricsRegistry }
  /** Keep the plugin's catch-all `OPTIONS *` route out of OpenAPI documents (`schema.hide`), as @fastify/cors does. Default `true`. */
  hideOptionsRoute?: boolean
}

/** What the plugin needs of a prom-client `Registry` (a structural type, so prom-client stays optional). */
export interface MetricsRegistry {
  registerMetric (metric: object): void
  removeSingleMetric (name: string): void
}

export interface CorsConfig {
  /** The static allowlist; empty (nothing listed) when `origins` is a function. */
  readonly allowlist: Allowlist
  /** The `origins` function, when the allowlist is dynamic. */
  readonly originsFunction: OriginsFunction | undefined
  readonly originsCache: OriginsCacheConfig
  readonly credentials: boolean
  readonly methods: readonly string[]
  readonly allowedHeaders: readonly string[]
  readonly exposedHeaders: readonly string[]
  readonly maxAge: number
  readonly cacheControl: string | undefined
  readonly privateNetwork: boolean
  readonly refusal: RefusalMode
  readonly decisionCacheSize: number
  readonly hideOptionsRoute: boolean
  /** Legal but risky settings, to be logged once at start-up. */
  readonly warnings: readonly string[]
}

/** The options without a default value. */
type Defaulted = 'origins' | 'cacheControl' | 'originsFile' | 'metrics'
/**
 * Every default of `corsPolicy`, in one place; docs/options.md and the README's options table list
 * these values. `origins` has none on purpose: with no origins anywhere, registration fails.
 */
export const defaultOptions: Readonly<Required<Omit<CorsPolicyOptions, Defaulted>> & Pick<CorsPolicyOptions, Defaulted>> = Object.freeze({
  credentials: false,
  methods: Object.freeze(['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE']),
  // Authorization is never covered by `*` (https://fetch.spec.whatwg.org/#cors-non-wildcard-request-header-name).
  allowedHeaders: Object.freeze(['Content-Type', 'Authorization']),
  exposedHeaders: Object.freeze([]),
  // WebKit's cap (CrossOriginPreflightResultCache.cpp maxPreflightCacheTimeout), so every browser honours it.
  maxAge: 600,
  cacheControl: undefined,
  privateNetwork: false,
  refusal: 'block',
  decisionCacheSize: 1000,
  originsFile: undefined,
  watchOriginsFile: true,
  statsOrigins: 100,
  metrics: undefined,
  hideOptionsRoute: true,
  originsCache: defaultOriginsCache
})

/** The static part of a dynamic allowlist: nothing is listed, every decision is the function's. */
const NOTHING_LISTED: Allowlist = Object.freeze({ any: false, exact: new Set<string>(), wildcards: Object.freeze([]), patterns: Object.freeze([]) })
/** Above this many RegExp entries, a flood of distinct Origins costs real CPU (see docs/benchmarks.md). */
const MANY_PATTERNS = 100
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
export const OPTION_NAMES: readonly string[] = Object.freeze(['origins', ...Object.keys(defaultOptions)])
const REFUSAL_MODES: readonly RefusalMode[] = Object.freeze(['block', 'omit-headers', 'report-only'])
/** Fastify's own `register()` options reach the plugin too; they are not ours to refuse. */
const REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers'])

/**
 * Validates the options once, filling what they leave out from the environment
 * (`CORS_ORIGINS`, `CORS_CREDENTIALS`, `CORS_MAX_AGE`, `CORS_PRIVATE_NETWORK`). Explicit options win.
 */
export function resolveCorsConfig (options: CorsPolicyOptions, env: NodeJS.ProcessEnv = process.env): CorsConfig {
  for (const key of Object.keys(options)) {
    if (FASTIFY_CORS_ONLY.includes(key)) checkFastifyCorsOption('', key, (options as Record<string, unknown>)[key])
    else if (!OPTION_NAMES.includes(key) && !REGISTER_OPTIONS.has(key)) throw unknownOption(key, 'corsPolicy', OPTION_NAMES)
  }
  const origins = options.origins
  const originsFunction = typeof origins === 'function' ? origins : undefined
  const allowlist = typeof origins === 'function' ? NOTHING_LISTED : parseAllowlist(origins ?? env.CORS_ORIGINS ?? '')
  const originsCache = resolveOriginsCache(options.originsCache, originsFunction !== undefined)
  const credentials = options.credentials ?? parseBoolean('CORS_CREDENTIALS', env.CORS_CREDENTIALS) ?? defaultOptions.credentials
  const maxAge = options.maxAge ?? parseInteger('CORS_MAX_AGE', env.CORS_MAX_AGE) ?? defaultOptions.maxAge
  const privateNetwork = options.privateNetwork ?? parseBoolean('CORS_PRIVATE_NETWORK', env.CORS_PRIVATE_NETWORK) ?? defaultOptions.privateNetwork

  expectBoolean('credentials', credentials)
  expectBoolean('privateNetwork', privateNetwork)
  if (credentials) refuseReflection(allowlist)
  if (!Number.isInteger(maxAge) || maxAge < 0 || maxAge > 86400) {
    throw new CorsConfigError(options.maxAge === undefined ? 'CORS_MAX_AGE' : 'maxAge', `${String(maxAge)} is not a whole number of seconds from 0 to 86400`, 'use e.g. 600 (the largest value every browser honours)')
  }
  const refusal = options.refusal ?? defaultOptions.refusal
  if (!isRefusalMode(refusal)) throw refusalModeError('refusal', refusal, REFUSAL_MODES)
  const hideOptionsRoute = options.hideOptionsRoute ?? defaultOptions.hideOptionsRoute
  expectBoolean('hideOptionsRoute', hideOptionsRoute)
  const decisionCacheSize = options.decisionCacheSize ?? defaultOptions.decisionCacheSize
  if (!Number.isInteger(decisionCacheSize) || decisionCacheSize < 0) {
    throw new CorsConfigError('decisionCacheSize', `${String(decisionCacheSize)} is not a whole number ≥ 0`, 'use e.g. 1000')
  }

  return Object.freeze({
    allowlist,
    originsFunction,
    originsCache,
    credentials,
    methods: parseTokenList('methods', options.methods ?? defaultOptions.methods, credentials),
    allowedHeaders: parseTokenList('allowedHeaders', options.allowedHeaders ?? defaultOptions.allowedHeaders, credentials),
    exposedHeaders: parseTokenList('exposedHeaders', options.exposedHeaders ?? defaultOptions.exposedHeaders, credentials),
    maxAge,
    cacheControl: parseCacheControl(options.cacheControl ?? defaultOptions.cacheControl),
    privateNetwork,
    refusal,
    decisionCacheSize,
    hideOptionsRoute,
    warnings: Object.freeze(collectWarnings(allowlist, credentials, maxAge, refusal))
  })
}

/** The refusal modes a route's `config.corsRefusal` may take. */
export const ROUTE_REFUSAL_MODES: readonly RouteRefusalMode[] = Object.freeze(['block', 'omit-headers'])
const MODE_TEXT: Readonly<Record<RefusalMode, string>> = Object.freeze({
  block: '"block" (403, the default)',
  'omit-headers': '"omit-headers" (served without CORS headers)',
  'report-only': '"report-only" (served as if listed, logged and counted as "would refuse")'
})

/** The error for an option name that is not one of `names`, pointing at the closest one. */
export function unknownOption (setting: string, of: string, names: readonly string[]): CorsConfigError {
  const closest = closestName(setting.slice(setting.lastIndexOf('.') + 1), names)
  const hint = closest === undefined ? `remove it; the options are ${names.join(', ')}` : `rename it to \`${closest}\``
  return new CorsConfigError(setting, `is not an option of ${of}`, hint)
}

/** Whether a value is the plugin's `refusal` mode. */
function isRefusalMode (value: unknown): value is RefusalMode {
  return REFUSAL_MODES.includes(value as RefusalMode)
}

/** Whether a value is a route's `config.corsRefusal` mode. */
export function isRouteRefusalMode (value: unknown): value is RouteRefusalMode {
  return ROUTE_REFUSAL_MODES.includes(value as RouteRefusalMode)
}

/** The error for a value that is not one of `modes`; `setting` names where it was given. */
export function refusalModeError (setting: string, value: unknown, modes: readonly RefusalMode[]): CorsConfigError {
  const shown = typeof value === 'string' ? `"${value}"` : `${String(value)} (of type ${typeof value})`
  return new CorsConfigError(setting, `${shown} is not a refusal mode`, `use ${modes.map((mode) => MODE_TEXT[mode]).join(' or ')}`)
}

/**
 * With credentials, an entry that admits origins anyone can obtain is reflect-any-origin with
 * credentials: any site reads your users' data (OWASP WSTG-CLNT-07 "Dynamic CORS Policy";
 * PortSwigger Web Security Academy, "CORS"). Refused, never only warned about.
 */
function refuseReflection (allowlist: Allowlist): void {
  if (allowlist.any) {
    throw new CorsConfigError('origins', '"*" with credentials: browsers refuse it, and reflecting every origin instead would let any site read your users\' data',
      'list the origins you trust, or turn credentials off')
  }
  refuseEntriesAnySiteCanUse(allowlist, 'with credentials')
}

/**
 * Refuses entries that admit origins anyone can obtain (a RegExp matching any domain, a wildcard on
 * a public suffix), and RegExps for public names that name no domain (each of their matches would be
 * refused as `foreign-domain`: a mistake better found at start-up), where cookies reach allowed origins: with credentials, and with the realtime
 * plugin, since browsers send cookies on every WebSocket upgrade whatever CORS says.
 */
export function refuseEntriesAnySiteCanUse (allowlist: Allowlist, where: string): void {
  for (const pattern of allowlist.patterns) {
    if (pattern.admitsAnyDomain !== undefined) {
      const [first, second] = pattern.admitsAnyDomain
      throw new CorsConfigError(`origins entry ${pattern.text}`, `admits origins on any domain (it matches ${first} and ${second}, reserved names nobody owns), so ${where} any site could act as your users`,
        'pin the host, e.g. /https:\\/\\/pr-\\d+\\.preview\\.example\\.com/, or list exact origins')
    }
    if (pattern.namesNoDomain !== undefined) {
      throw new CorsConfigError(`origins entry ${pattern.text}`, `matches origins on public names (e.g. ${pattern.namesNoDomain}) but writes out no registrable domain; a RegExp admits only domains its source names, so it admits none of them (refused ${where}, so that the mistake shows at start-up)`,
        'name your domain in it with escaped dots, e.g. /https:\\/\\/[a-z0-9-]+\\.example\\.com/, or list exact origins')
    }
  }
  for (const wildcard of allowlist.wildcards) {
    if (wildcard.publicSuffix !== undefined) {
      throw new CorsConfigError(`origins entry "${wildcard.text}"`, `sits on the public suffix ${wildcard.publicSuffix} (Public Suffix List), where anyone can register a name, so ${where} any such site could act as your users`,
        `put the wildcard under a domain you own, e.g. "${wildcard.scheme}://*.yourname.${wildcard.publicSuffix}"`)
    }
  }
}

function collectWarnings (allowlist: Allowlist, credentials: boolean, maxAge: number, refusal: RefusalMode): string[] {
  const warnings: string[] = []
  if (refusal === 'report-only') {
    warnings.push(`REPORT-ONLY: origins the allowlist would refuse are SERVED as if listed${credentials ? ', with credentials, so any site can read your users\' data' : ''}, and only logged and counted as "would refuse" (originPolicy.stats()); set refusal: 'block' once the reports are clean`)
  }
  if (maxAge > 7200) warnings.push(`maxAge ${maxAge} exceeds Chromium's cap (7200 s) and WebKit's (600 s); those browsers cache preflights for less`)
  else if (maxAge > 600) warnings.push(`maxAge ${maxAge} exceeds WebKit's cap (600 s); Safari caches preflights for 600 s at most`)
  if (allowlist.patterns.length > MANY_PATTERNS) {
    warnings.push(`${allowlist.patterns.length} RegExp entries: each never-seen Origin is tested against all of them (the decision cache cannot help against a flood of distinct values); prefer exact or wildcard entries, which cost the same whatever their number`)
  }
  if (credentials) {
    warnings.push(...cookieWarnings(allowlist))
  } else {
    // With credentials these are refused (refuseReflection); without, any site may read public responses only.
    for (const pattern of allowlist.patterns) {
      if (pattern.admitsAnyDomain !== undefined) warnings.push(`RegExp ${pattern.text} admits origins on any domain (e.g. ${pattern.admitsAnyDomain[0]}); pin the host, or use "*" if every site may read these responses`)
    }
    for (const wildcard of allowlist.wildcards) {
      if (wildcard.publicSuffix !== undefined) warnings.push(`wildcard ${wildcard.text} sits on the public suffix ${wildcard.publicSuffix}: anyone can register a site under it`)
    }
  }
  return warnings
}

/**
 * The entries that are risky wherever cookies go to an allowed origin: with credentials, and on every
 * WebSocket upgrade (browsers send cookies on those whatever CORS says), so the realtime plugin logs them too.
 */
export function cookieWarnings (allowlist: Allowlist): string[] {
  const warnings: string[] = []
  for (const origin of allowlist.exact) {
    if (origin.startsWith('http://')) warnings.push(`origin ${origin} is plain http with credentials: anyone on its network path can act as it`)
  }
  for (const wildcard of allowlist.wildcards) {
    warnings.push(`wildcard ${wildcard.text} with credentials trusts every subdomain; an XSS or takeover on any of them reads your users' data`)
  }
  return warnings
}

function parseTokenList (setting: string, value: string | readonly string[], credentials: boolean): readonly string[] {
  const items = typeof value === 'string' ? value.split(',') : value
  if (!Array.isArray(items)) throw new CorsConfigError(setting, 'is neither a string nor an array of strings', 'e.g. [\'GET\', \'POST\']')
  const tokens = items.map((item) => String(item).trim()).filter((item) => item !== '')
  for (const token of tokens) {
    if (!TOKEN.test(token)) throw new CorsConfigError(setting, `"${token}" is not an HTTP token, and browsers fail the whole preflight on it`, 'use plain names such as X-Request-Id')
    if (token === '*' && credentials) {
      throw new CorsConfigError(setting, '"*" is only a wildcard without credentials; with credentials browsers read it as a name literally "*"',
        'list the names explicitly')
    }
  }
  return Object.freeze([...new Set(tokens)])
}

function parseCacheControl (value: number | string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return `max-age=${value}`
  if (typeof value === 'string' && value.trim() !== '') return fieldValue('cacheControl', value.trim(), 'use e.g. 600 or "public, max-age=600"')
  throw new CorsConfigError('cacheControl', `${JSON.stringify(value)} is neither seconds nor a header value`, 'use e.g. 600 or "public, max-age=600"')
}

/**
 * Refuses what is not an RFC 9110 §5.5 field-value in US-ASCII (visible characters, spaces, tabs):
 * Node refuses to send CR, LF, NUL and other controls (500 ERR_INVALID_CHAR on every response that
 * would carry them), and obs-text (0x80–0xFF) is obsolete and read differently by each client.
 */
function fieldValue (setting: string, value: string, fix: string): string {
  const bad = /[^\t\x20-\x7e]/.exec(value)
  if (bad !== null) {
    // The value is shown with its controls escaped, so the error itself stays one clean line.
    const shown = value.replace(/[^\x20-\x7e]/g, (char) => `\\u${codePoint(char)}`)
    throw new CorsConfigError(setting, `"${shown}" contains U+${codePoint(bad[0])} at index ${bad.index}, which is not allowed in an HTTP header value (RFC 9110 §5.5: visible US-ASCII, spaces and tabs only)`, fix)
  }
  return value
}

function codePoint (char: string): string {
  return char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')
}

function parseBoolean (name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value.trim() === '') return undefined
  const normalized = value.trim().toLowerCase()
  if (normalized === 'true' || normalized === '1') return true
  if (normalized === 'false' || normalized === '0') return false
  throw new CorsConfigError(name, `"${value}" is not a boolean`, `set ${name}=true or ${name}=false`)
}

function parseInteger (name: string, value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined
  if (!/^\d+$/.test(value.trim())) throw new CorsConfigError(name, `"${value}" is not a whole number of seconds`, `set e.g. ${name}=600`)
  return Number(value.trim())
}

function expectBoolean (setting: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new CorsConfigError(setting, `${JSON.stringify(value)} is not a boolean`, 'pass true or false')
}
