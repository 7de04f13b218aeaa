import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { isRouteRefusalMode, OPTION_NAMES, refusalModeError, ROUTE_REFUSAL_MODES, unknownOption, type CorsConfig, type CorsPolicyOptions, type RefusalMode } from './config.js'
import { CorsConfigError } from './errors.js'
import { checkFastifyCorsOption, FASTIFY_CORS_ONLY } from './fastify-cors-options.js'
import type { OriginDecision, OriginRefused } from './origin-matcher.js'
import { createOriginPolicy, type CorsAnswer, type CorsVerdict, type WarnLogger } from './origin-policy.js'

/** The options a route's `config.cors` may override; the others are plugin-wide. */
export type RouteCorsOptions = Pick<CorsPolicyOptions, 'origins' | 'credentials' | 'methods' | 'allowedHeaders' | 'exposedHeaders' | 'maxAge' | 'cacheControl' | 'refusal'>

export const ROUTE_OPTION_NAMES: readonly string[] = Object.freeze(['origins', 'credentials', 'methods', 'allowedHeaders', 'exposedHeaders', 'maxAge', 'cacheControl', 'refusal'])

/**
 * What a route decides by: a route's own `OriginPolicy`, or the plugin's `LiveOriginPolicy` (which an
 * update replaces, and which counts each verdict on its channel).
 */
export interface DecidingPolicy {
  readonly config: CorsConfig
  readonly vary: string | undefined
  /** The decision now, or a promise while an `origins` function's lookup runs (see `OriginPolicy.lookup`). */
  lookup: (origin: string | undefined, request: IncomingMessage) => OriginDecision | Promise<OriginDecision>
  verdict: (method: string | undefined, headers: IncomingHttpHeaders, decision: OriginDecision, channel: 'http') => CorsVerdict
  refuse: (decision: OriginRefused, preflight: boolean) => CorsAnswer
  logRefusal: (log: WarnLogger, origin: string | undefined, decision: OriginRefused, request: { method?: string, url?: string }) => void
}

/** How the requests of one route are treated, compiled when the route is registered. */
export interface RouteCors {
  /** The route's own policy, or the plugin's when the route overrides no part of it. */
  readonly policy: DecidingPolicy
  /** `false` for `config: { cors: false }`: no grant header, and every preflight asking about the route refused. */
  readonly enabled: boolean
  /** A refused origin's non-preflight request gets the 403 and the handler does not run. */
  readonly blocks: boolean
}

/** What a route's config says about CORS (`config.cors`, and `config.corsRefusal`, the older spelling of `cors.refusal`). */
export interface RouteCorsConfig {
  readonly cors?: unknown
  readonly corsRefusal?: unknown
}

/**
 * To a browser, a route with CORS off lists no origin: its preflights get the refusal a listed-nowhere
 * origin gets (403, no grant header, https://fetch.spec.whatwg.org/#http-responses).
 */
const CORS_OFF: OriginRefused = Object.freeze({ allowed: false, reason: 'not-listed' })

/** A route's treatment from a policy, CORS on or off, and a refusal mode (the policy's by default). */
export function routeCors (policy: DecidingPolicy, enabled = true, refusal?: RefusalMode): RouteCors {
  // Without a mode of its own, the route follows the policy's, which an update can change.
  return Object.freeze({ policy, enabled, get blocks () { return (refusal ?? policy.config.refusal) !== 'omit-headers' } })
}

/**
 * Compiles a route's CORS config once, at registration; `undefined` when the route says nothing, so
 * the plugin's treatment applies. Every key and value is checked: `name` (e.g. `route GET /x`) starts
 * each error's setting, and options the route inherits come from `base`, the plugin's options.
 */
export function compileRouteCors (name: string, config: RouteCorsConfig, base: CorsPolicyOptions, plugin: DecidingPolicy): RouteCors | undefined {
  const { cors, corsRefusal } = config
  if (cors === undefined && corsRefusal === undefined) return undefined
  if (corsRefusal !== undefined && !isRouteRefusalMode(corsRefusal)) throw refusalModeError(`${name}: config.corsRefusal`, corsRefusal, ROUTE_REFUSAL_MODES)
  if (cors !== undefined && cors !== false && (typeof cors !== 'object' || cors === null || Array.isArray(cors))) {
    throw new CorsConfigError(`${name}: config.cors`, `${String(cors)} is neither false nor an options object`,
      'pass `false` to turn CORS off on the route, or an object of the options to override there, e.g. `{ origins: [\'https://admin.example.com\'] }`')
  }
  const overrides = routeOverrides(name, cors === false || cors === undefined ? {} : cors as Record<string, unknown>)
  const refusal = overrides.refusal ?? corsRefusal as RefusalMode | undefined
  if (overrides.refusal !== undefined && corsRefusal !== undefined && overrides.refusal !== corsRefusal) {
    throw new CorsConfigError(`${name}: config.corsRefusal`, `"${String(corsRefusal)}" contradicts config.cors.refusal "${overrides.refusal}"`, 'keep one of them (`config.cors.refusal` is the newer spelling)')
  }
  const { refusal: _refusal, ...policyOverrides } = overrides
  const policy = Object.keys(policyOverrides).length === 0 ? plugin : compilePolicy(name, { ...base, ...policyOverrides })
  return routeCors(policy, cors !== false, refusal)
}

/**
 * The verdict for one request to a route. With CORS on, the policy's; with CORS off, the same
 * decision (a refused origin is still refused, so `refusal: 'block'` still keeps it from the handler)
 * but without any grant, and a preflight refused.
 */
export function routeVerdict (route: RouteCors, method: string | undefined, headers: IncomingHttpHeaders, decision: OriginDecision): CorsVerdict {
  const verdict = route.policy.verdict(method, headers, decision, 'http')
  if (route.enabled) return verdict
  const { answer, refusal } = verdict
  if (answer !== undefined) return { decision: verdict.decision, answer: verdict.decision.allowed ? route.policy.refuse(CORS_OFF, true) : answer }
  return refusal === undefined ? { decision: verdict.decision } : { decision: verdict.decision, refusal }
}

function routeOverrides (name: string, cors: Record<string, unknown>): RouteCorsOptions {
  const overrides: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(cors)) {
    if (FASTIFY_CORS_ONLY.includes(key)) {
      checkFastifyCorsOption(`${name}: config.cors.`, key, value)
    } else if (ROUTE_OPTION_NAMES.includes(key)) {
      if (value !== undefined) overrides[key] = value
    } else if (OPTION_NAMES.includes(key)) {
      throw new CorsConfigError(`${name}: config.cors.${key}`, 'is plugin-wide, not per route', `set it in the options of corsPolicy; a route may override ${ROUTE_OPTION_NAMES.join(', ')}`)
    } else {
      throw unknownOption(`${name}: config.cors.${key}`, 'config.cors', ROUTE_OPTION_NAMES)
    }
  }
  if (overrides.refusal !== undefined && !isRouteRefusalMode(overrides.refusal)) throw refusalModeError(`${name}: config.cors.refusal`, overrides.refusal, ROUTE_REFUSAL_MODES)
  return overrides as RouteCorsOptions
}

/** The route's own policy; an error names the route's setting (`route GET /x: config.cors.maxAge`). */
function compilePolicy (name: string, options: CorsPolicyOptions): DecidingPolicy {
  try {
    return createOriginPolicy(options)
  } catch (error) {
    if (!(error instanceof CorsConfigError)) throw error
    throw new CorsConfigError(`${name}: config.cors.${error.setting}`, error.problem, error.fix)
  }
}
