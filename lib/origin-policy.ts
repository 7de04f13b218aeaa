import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { resolveCorsConfig, type CorsConfig, type CorsPolicyOptions } from './config.js'
import { BoundedMap } from './bounded-map.js'
import { describeDecision, OriginMatcher, type OriginDecision, type OriginRefused, type RefusalReason } from './origin-matcher.js'
import { OriginResolver } from './origin-resolver.js'
import { ORIGIN_REFUSED } from './protocol.js'
import { RefusalLog } from './refusal-log.js'

export type HeaderMap = Record<string, string>

/** A response that ends the request here: a preflight answer (204) or a refusal (403). */
export interface CorsAnswer {
  readonly statusCode: 204 | 403
  readonly headers: HeaderMap
  readonly body: string
}

/** What to do with one request; computed the same way for Fastify routes and engine.io requests. */
export interface CorsVerdict {
  readonly decision: OriginDecision
  /** A preflight: answer it now (204 granted, 403 refused origin); the handler never runs. */
  readonly answer?: CorsAnswer
  /** A refused Origin on any other request: the 403 to send unless refused origins are served here. */
  readonly refusal?: CorsAnswer
  /** Headers to add to the response the handler produces (CORS grants, and Vary for a dynamic allowlist), when there are any. */
  readonly headers?: HeaderMap
  /** Refused, yet served as if listed: `refusal: 'report-only'` (see `OriginPolicy.reports()`). */
  readonly reported?: true
}

/** The part of a pino-style logger that refusal logging needs. */
export interface WarnLogger {
  warn: (details: object, message: string) => void
}

const SAFELISTED_METHODS = new Set(['GET', 'HEAD', 'POST'])
const HEADER_CHECK_CACHE_LIMIT = 256
const JSON_HEADERS = 'application/json; charset=utf-8'
/**
 * What a refused caller reads: THAT it was refused, and a stable code. Never the entry nor the
 * reason, which would tell a prober which origins, hosts, schemes or ports are listed.
 */
const REFUSED_BODY = JSON.stringify({ statusCode: 403, code: ORIGIN_REFUSED, error: 'Forbidden', message: 'Origin not allowed' })
/** A missing Origin where one is required (the realtime plugin's `requireOrigin`) reveals nothing either. */
const ORIGIN_REQUIRED_BODY = JSON.stringify({ statusCode: 403, code: ORIGIN_REFUSED, error: 'Forbidden', message: 'Origin header required' })
/** Over HTTP/2 an Origin can be ~60 KB; a log field carries at most this much of it. */
const LOGGED_ORIGIN_LENGTH = 300
/** For the operator's log line, the counters and the CLI's `explain`: what to do about each kind of refusal. */
export const REFUSAL_FIXES: Readonly<Record<RefusalReason, string>> = Object.freeze({
  absent: 'non-browser clients must send an Origin header while requireOrigin is on',
  'too-long': 'none: no origin is that long, so this is not a browser',
  malformed: 'none, unless a proxy rewrites Origin: browsers never send this value',
  'non-canonical': 'none, unless a proxy or client rewrites Origin: browsers send it lowercase, without default port or trailing slash',
  'scheme-differs': 'if this origin is yours, add it to origins (or CORS_ORIGINS); the listed entry has another scheme',
  'port-differs': 'if this origin is yours, add it to origins (or CORS_ORIGINS); the listed entry has another port',
  'not-listed': 'if this origin is yours, add it to origins (or CORS_ORIGINS)',
  'foreign-domain': 'if this origin is yours, list it exactly, or write its registrable domain out in the RegExp with escaped dots (\\.example\\.com); a wildcard never reaches below a public suffix (*.amazonaws.com does not cover s3.amazonaws.com buckets)',
  'lookup-failed': 'make the origins function answer true or false within originsCache.timeout; failures refuse for originsCache.failureTtl',
  'lookup-limited': 'if these are real users\' origins, raise originsCache.maxLookupsPerSecond; otherwise this is a flood of distinct Origins, refused without a lookup'
})
/**
 * The refusals report-only serves: well-formed origins that the list does not name. No browser sends the
 * others (absent where required, too long, malformed such as `null`, non-canonical), and granting them
 * would echo what no list could ever admit (`null` is any sandboxed iframe's), so they stay refused.
 */
const REPORTED_REASONS: ReadonlySet<RefusalReason> = new Set(['not-listed', 'scheme-differs', 'port-differs', 'foreign-domain'])
/** Refusals logged once per interval whatever the origin: one cause, and a flood must not pick the lines. */
const LOGGED_BY_REASON: ReadonlySet<RefusalReason> = new Set(['lookup-failed', 'lookup-limited'])

type PreflightKind = 'granted' | 'grantedPrivateNetwork' | 'denied'

/** What a request from one served origin is answered with: every object in it built once, frozen. */
class OriginGrants {
  readonly request: CorsVerdict
  /** The echoed origin; undefined for `*`, whose answers name no origin. */
  readonly origin: string | undefined
  /** Preflight verdicts, each made on the first preflight of its kind. */
  preflights?: { -readonly [kind in PreflightKind]?: CorsVerdict }

  constructor (decision: OriginDecision, headers: HeaderMap, origin?: string) {
    // A refused origin is served only under report-only (see `OriginPolicy.reports`).
    this.request = Object.freeze(decision.allowed ? { decision, headers } : { decision, headers, reported: true as const })
    this.origin = origin
  }
}

/** The 403 answers a policy can give: constant, so built once. */
interface RefusalAnswers {
  readonly request: CorsAnswer
  readonly requestWithoutOrigin: CorsAnswer
  readonly preflight: CorsAnswer
}

function refusalAnswer (headers: HeaderMap, body: string): CorsAnswer {
  return Object.freeze({ statusCode: 403, headers, body })
}

/**
 * The whole CORS configuration compiled once: the origin decision plus every header it implies.
 * Both plugins ask it for a verdict and only translate the verdict into their response API.
 */
export class OriginPolicy {
  readonly config: CorsConfig
  readonly refusals = new RefusalLog()
  /**
   * `Origin` for a dynamic allowlist (https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches);
   * undefined for a static `*`, which must not vary.
   */
  readonly vary: string | undefined
  /** The memo and guard of the `origins` function, when there is one: then decisions come from `lookup()`, perhaps as promises. */
  readonly resolver: OriginResolver | undefined
  readonly #matcher: OriginMatcher
  readonly #methods: ReadonlySet<string>
  readonly #headerNames: ReadonlySet<string>
  readonly #anyMethod: boolean
  readonly #anyHeader: boolean
  readonly #grant: HeaderMap
  /** The headers of a served request that is not a preflight: the grant, and `Vary` for a dynamic allowlist. */
  readonly #requestGrant: HeaderMap
  readonly #preflightGranted: HeaderMap
  readonly #preflightGrantedPrivateNetwork: HeaderMap
  readonly #preflightDenied: HeaderMap
  readonly #refusals: RefusalAnswers
  readonly #headerChecks = new BoundedMap<string, boolean>(HEADER_CHECK_CACHE_LIMIT)
  /** The verdict for a request without Origin; the same object every time. */
  readonly #absent: CorsVerdict
  /** With `*`: one record serves every origin. */
  readonly #anyGrants: OriginGrants | undefined
  /**
   * Ready-to-send answers per served origin, so that an allowed request allocates nothing: one record
   * per exact entry, made at start-up, and for every other origin a cache as bounded as the decision
   * cache (`decisionCacheSize`).
   */
  readonly #exactGrants = new Map<string, OriginGrants>()
  readonly #servedGrants: BoundedMap<string, OriginGrants>

  constructor (config: CorsConfig) {
    this.config = config
    this.#matcher = new OriginMatcher(config.allowlist, config.decisionCacheSize)
    this.resolver = config.originsFunction === undefined ? undefined : new OriginResolver(config.originsFunction, config.originsCache)
    const dynamic = !config.allowlist.any
    this.vary = dynamic ? 'Origin' : undefined
    this.#methods = new Set(config.methods)
    this.#headerNames = new Set(config.allowedHeaders.map((name) => name.toLowerCase()))
    // `*` is a wildcard only without credentials (https://fetch.spec.whatwg.org/#http-new-header-syntax);
    // config rejects it with credentials.
    this.#anyMethod = this.#methods.has('*')
    this.#anyHeader = this.#headerNames.has('*')

    const grant: HeaderMap = {}
    if (!dynamic) grant['access-control-allow-origin'] = '*'
    if (config.credentials) grant['access-control-allow-credentials'] = 'true'
    if (config.exposedHeaders.length > 0) grant['access-control-expose-headers'] = config.exposedHeaders.join(', ')
    this.#grant = Object.freeze(grant)
    // Vary travels with the grant, so that a response gets all its CORS headers in one pass (a
    // separate `setHeader` on the raw response sent every reply down Node's header-merging writeHead).
    const varyHeader: HeaderMap = dynamic ? { vary: 'Origin' } : {}
    this.#requestGrant = Object.freeze({ ...grant, ...varyHeader })

    const preflightVary = [...(dynamic ? ['Origin'] : []), 'Access-Control-Request-Method', 'Access-Control-Request-Headers',
      ...(config.privateNetwork ? ['Access-Control-Request-Private-Network'] : [])].join(', ')
    // No Content-Length: RFC 9110 §8.6 forbids it on 204, and Fastify strips it.
    const denied: HeaderMap = { ...grant, vary: preflightVary }
    // Expose-Headers belongs on responses that are not preflights (https://fetch.spec.whatwg.org/#http-responses).
    delete denied['access-control-expose-headers']
    if (config.methods.length > 0) denied['access-control-allow-methods'] = config.methods.join(', ')
    if (config.allowedHeaders.length > 0) denied['access-control-allow-headers'] = config.allowedHeaders.join(', ')
    this.#preflightDenied = Object.freeze(denied)
    const granted: HeaderMap = { ...denied, 'access-control-max-age': String(config.maxAge) }
    if (config.cacheControl !== undefined) granted['cache-control'] = config.cacheControl
    this.#preflightGranted = Object.freeze(granted)
    this.#preflightGrantedPrivateNetwork = Object.freeze({ ...granted, 'access-control-allow-private-network': 'true' })

    const refusalHeaders = Object.freeze({ 'content-type': JSON_HEADERS, ...(dynamic ? { vary: 'Origin' } : {}) })
    const preflightRefusalHeaders = Object.freeze({ 'content-type': JSON_HEADERS, vary: preflightVary })
    this.#refusals = Object.freeze({
      request: refusalAnswer(refusalHeaders, REFUSED_BODY),
      requestWithoutOrigin: refusalAnswer(refusalHeaders, ORIGIN_REQUIRED_BODY),
      preflight: refusalAnswer(preflightRefusalHeaders, REFUSED_BODY)
    })
    const absent = this.#matcher.decide(undefined)
    this.#absent = Object.freeze({ decision: absent, headers: dynamic ? Object.freeze(varyHeader) : this.#grant })
    this.#servedGrants = new BoundedMap(config.decisionCacheSize)
    this.#anyGrants = config.allowlist.any ? new OriginGrants(this.#matcher.decide('*'), this.#grant) : undefined
    for (const origin of config.allowlist.exact) this.#exactGrants.set(origin, this.#originGrants(this.#matcher.decide(origin), origin))
    Object.freeze(this)
  }

  /** How many non-exact decisions are memoized now, and the bound it never exceeds. */
  get cacheSize (): number { return this.#matcher.cacheSize }
  get cacheLimit (): number { return this.#matcher.cacheLimit }

  /** The single origin decision: allowed by which entry, or refused and why. */
  decide (origin: string | undefined): OriginDecision {
    return this.#matcher.decide(origin)
  }

  /**
   * The decision for a request, the same for HTTP routes and engine.io: the allowlist's, at once; or
   * the `origins` function's, at once when memoized, else a promise (that never rejects).
   */
  lookup (origin: string | undefined, request: IncomingMessage): OriginDecision | Promise<OriginDecision> {
    return this.resolver === undefined ? this.#matcher.decide(origin) : this.resolver.decide(origin, request)
  }

  /**
   * The verdict for one request, from its method and headers; with a dynamic allowlist, from the
   * `decision` of `lookup()` (without one, nothing is listed: every Origin is refused).
   */
  verdict (method: string | undefined, headers: IncomingHttpHeaders, decision: OriginDecision = this.#matcher.decide(headers.origin)): CorsVerdict {
    const origin = headers.origin
    if (origin === undefined) return this.#absent
    const requestMethod = headers['access-control-request-method']
    const preflight = method === 'OPTIONS' && requestMethod !== undefined
    // Report-only serves the grant a listed origin gets, so a roll-out changes no response until enforced.
    if (decision.allowed || this.reports(decision)) {
      const grants = this.#grants(origin, decision)
      return preflight ? this.#preflight(grants, requestMethod, headers) : grants.request
    }
    return preflight ? { decision, answer: this.refuse(decision, true) } : { decision, refusal: this.refuse(decision, false) }
  }

  /** The ready-made answers for an origin that is served (listed, or reported only). */
  #grants (origin: string, decision: OriginDecision): OriginGrants {
    const known = this.#anyGrants ?? this.#exactGrants.get(origin) ?? this.#servedGrants.get(origin)
    // An `origins` function may answer otherwise once its memo expires: a record serves its own answer only.
    if (known !== undefined && known.request.decision.allowed === decision.allowed) return known
    const grants = this.#originGrants(decision, origin)
    this.#servedGrants.set(origin, grants)
    return grants
  }

  #originGrants (decision: OriginDecision, origin: string): OriginGrants {
    return new OriginGrants(decision, Object.freeze({ 'access-control-allow-origin': origin, ...this.#requestGrant }), origin)
  }

  /** Whether a refusal is served anyway, only reported: `refusal: 'report-only'` and a well-formed origin. */
  reports (decision: OriginRefused): boolean {
    return this.config.refusal === 'report-only' && REPORTED_REASONS.has(decision.reason)
  }

  /**
   * Logs a refusal at warn, once per origin per minute (see `RefusalLog`), for the operator: the
   * reason, the entry it resembles and the fix. A long Origin is cut to a bounded length, with its
   * original length beside it, in the log and as the rate limiter's key.
   */
  logRefusal (log: WarnLogger, origin: string | undefined, decision: OriginRefused, request: { method?: string, url?: string }): void {
    // Per reason alone for lookup failures (one cause; a flood must not pick the lines), else per origin
    // and reason; no key string is built per refusal.
    const byReason = LOGGED_BY_REASON.has(decision.reason)
    const suppressed = this.refusals.take(byReason ? decision.reason : origin === undefined ? '' : countedOrigin(origin), byReason ? '' : decision.reason)
    if (suppressed === undefined) return
    const logged = loggedOrigin(origin)
    const reported = this.reports(decision)
    log.warn({ ...logged, reason: decision.reason, entry: decision.entry, detail: decision.detail, fix: REFUSAL_FIXES[decision.reason], method: request.method, url: request.url, suppressed, ...(reported ? { reportOnly: true } : {}) },
      reported ? `report-only, served: would refuse: ${describeDecision(origin, decision)}` : describeDecision(origin, decision))
  }

  /**
   * A 403 without any grant header, for a refused Origin (or, on sockets, a required but missing
   * one): "the 403 status can be used, coupled with omitting the relevant headers"
   * (https://fetch.spec.whatwg.org/#http-responses).
   * The body is a constant (see REFUSED_BODY): the Origin is never echoed.
   */
  refuse (decision: OriginRefused, preflight: boolean): CorsAnswer {
    const refusals = this.#refusals
    // A preflight always carries an Origin (the Fetch standard's CORS-preflight request), so only a
    // request can be refused for lacking one.
    if (decision.reason === 'absent') return refusals.requestWithoutOrigin
    return preflight ? refusals.preflight : refusals.request
  }

  /** A preflight from a served origin: its verdict is made on the first one of its kind and kept with the origin. */
  #preflight (grants: OriginGrants, requestMethod: string, headers: IncomingHttpHeaders): CorsVerdict {
    const granted = this.#methodAllowed(requestMethod) && this.#headersAllowed(headers['access-control-request-headers'])
    // The PNA grant goes only on a successful preflight that asked for it; opt-in, since the spec
    // (https://wicg.github.io/private-network-access/) is paused in favour of Local Network Access.
    const kind = !granted
      ? 'denied'
      : this.config.privateNetwork && headers['access-control-request-private-network'] === 'true' ? 'grantedPrivateNetwork' : 'granted'
    const preflights = (grants.preflights ??= {})
    if (preflights[kind] !== undefined) return preflights[kind]
    const { decision, reported } = grants.request
    const answer = this.#preflightAnswer(grants.origin, kind)
    return (preflights[kind] = Object.freeze(reported === true ? { decision, answer, reported } : { decision, answer }))
  }

  #preflightAnswer (origin: string | undefined, kind: PreflightKind): CorsAnswer {
    const base = kind === 'denied' ? this.#preflightDenied : kind === 'granted' ? this.#preflightGranted : this.#preflightGrantedPrivateNetwork
    return Object.freeze({ statusCode: 204, headers: origin === undefined ? base : Object.freeze({ 'access-control-allow-origin': origin, ...base }), body: '' })
  }

  #methodAllowed (method: string): boolean {
    return SAFELISTED_METHODS.has(method) || this.#methods.has(method) || this.#anyMethod
  }

  /** Checks the request's header list against the configured one; memoized, since few lists recur. */
  #headersAllowed (requested: string | undefined): boolean {
    if (requested === undefined || requested === '') return true
    const known = this.#headerChecks.get(requested)
    if (known !== undefined) return known
    const allowed = requested.split(',').every((raw) => {
      const name = raw.trim().toLowerCase()
      // `*` never covers Authorization (https://fetch.spec.whatwg.org/#cors-non-wildcard-request-header-name).
      return name === '' || this.#headerNames.has(name) || (this.#anyHeader && name !== 'authorization')
    })
    this.#headerChecks.set(requested, allowed)
    return allowed
  }
}

/** Compiles options (and `CORS_*` environment variables) into a policy; throws `CorsConfigError`. */
export function createOriginPolicy (options: CorsPolicyOptions = {}, env: NodeJS.ProcessEnv = process.env): OriginPolicy {
  return new OriginPolicy(resolveCorsConfig(options, env))
}

/** Adds tokens to a `Vary` value without losing existing ones or repeating any. */
export function appendVary (current: string | number | readonly string[] | undefined, tokens: string): string {
  if (current === undefined || current === '') return tokens
  // Fast path for the values this library sets itself ('Origin', 'Origin, Access-Control-…').
  if (typeof current === 'string' && (current === tokens || current.startsWith(`${tokens}, `))) return current
  const existing = (Array.isArray(current) ? current.join(',') : String(current)).split(',').map((token) => token.trim())
    .filter((token) => token !== '')
  if (existing.includes('*')) return '*'
  const lower = new Set(existing.map((token) => token.toLowerCase()))
  const missing = tokens.split(',').map((token) => token.trim()).filter((token) => !lower.has(token.toLowerCase()))
  return missing.length === 0 ? existing.join(', ') : [...existing, ...missing].join(', ')
}

/**
 * An Origin as a log line carries it: cut to a bounded length, with its original length beside it when
 * cut, so that neither a log line nor a rate limiter's key grows with what a client sends.
 */
export function loggedOrigin (origin: string | undefined): { origin: string | undefined, originLength?: number } {
  if (origin === undefined || origin.length <= LOGGED_ORIGIN_LENGTH) return { origin }
  return { origin: countedOrigin(origin), originLength: origin.length }
}

/** An Origin as the log and the counters key it: the Origin itself (no allocation), or its bounded cut. */
export function countedOrigin (origin: string): string {
  return origin.length <= LOGGED_ORIGIN_LENGTH ? origin : `${origin.slice(0, LOGGED_ORIGIN_LENGTH)}…`
}
