import type {
  FastifyContextConfig, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, FastifySchema, HookHandlerDoneFunction, LogLevel, onRouteHookHandler, onSendHookHandler
} from 'fastify'
import fp from 'fastify-plugin'
import type { CorsPolicyOptions, RouteRefusalMode } from '../lib/config.js'
import { CorsConfigError } from '../lib/errors.js'
import { LiveOriginPolicy } from '../lib/live-policy.js'
import { appendVary, type CorsVerdict } from '../lib/origin-policy.js'
import { compileRouteCors, routeCors, routeVerdict, type DecidingPolicy, type RouteCors, type RouteCorsOptions } from '../lib/route-cors.js'
import { RoutePatterns, type PathOptions } from '../lib/route-patterns.js'
import { resolveRuntimeOptions } from '../lib/runtime-options.js'
import { registerMetrics } from './metrics.js'
import { reloadOriginsFile } from './origins-reload.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The app's one origin policy, live: corsPolicy decides by it and the realtime plugin enforces this very
     * object on Socket.IO; `update()` replaces the list, `stats()` returns its counters.
     */
    originPolicy: LiveOriginPolicy
  }
  interface FastifyContextConfig {
    /**
     * The route's CORS, as with @fastify/cors: `false` turns it off there (no grant header, its
     * preflights refused), an object overrides some options for the route (see docs/options.md).
     */
    cors?: false | RouteCorsOptions
    /** Per-route refusal mode, e.g. `'omit-headers'` for an OAuth form_post callback that foreign sites POST to; the same as `cors.refusal`. */
    corsRefusal?: RouteRefusalMode
  }
}

const FASTIFY_CORS = '@fastify/cors'
const REMOVE_FASTIFY_CORS = 'remove @fastify/cors: corsPolicy answers preflights and sets the CORS headers itself (its `origin` option is `origins` here; see docs/migrating.md)'
/** Where a route's compiled CORS lives in its config: a symbol, so no key of the host's own config can clash with it. */
const ROUTE_CORS = Symbol('fastify-cors-io:route-cors')

type PreparedConfig = FastifyContextConfig & { [ROUTE_CORS]?: RouteCors }

/** What every route shares: the plugin's policy and options, and the routes with their own CORS config. */
interface Routes {
  readonly options: CorsPolicyOptions
  readonly policy: LiveOriginPolicy
  /** The plugin's treatment, for every route without its own config. */
  readonly plugin: RouteCors
  /** Routes with their own config, for preflights to find by path and requested method. */
  readonly own: RoutePatterns<RouteCors>
  /** `METHOD url` of the routes with their own config, and of the routes with constraints. */
  readonly ownKeys: Set<string>
  readonly constrainedKeys: Set<string>
  /** Completes Vary by the plugin's live policy (`varyCompleter`). */
  readonly completeVary: onSendHookHandler
  /** Compiled configs by the host's config object, which a GET route's automatic HEAD route shares: compiled and logged once. */
  readonly compiled: WeakMap<object, RouteCors | undefined>
}

const corsPolicyPlugin: FastifyPluginAsync<CorsPolicyOptions> = async (fastify, options) => {
  refuseConflicts(fastify)
  const runtime = resolveRuntimeOptions(options, process.env)
  const policy = new LiveOriginPolicy(runtime.policyOptions, process.env, fastify.log, runtime.statsOrigins)
  for (const warning of policy.config.warnings) fastify.log.warn({ plugin: 'fastify-cors-io' }, warning)
  if (runtime.registry !== undefined) await registerMetrics(fastify, policy, runtime.registry)
  fastify.decorate('originPolicy', policy)
  // Fastify 5 merges its top-level router settings into `routerOptions`.
  const { caseSensitive = true, ignoreTrailingSlash = false, ignoreDuplicateSlashes = false } = (fastify.initialConfig as { routerOptions?: Partial<PathOptions> }).routerOptions ?? {}
  const own = new RoutePatterns<RouteCors>({ caseSensitive, ignoreTrailingSlash, ignoreDuplicateSlashes })
  const routes: Routes = { options: runtime.policyOptions, policy, plugin: routeCors(policy), own, completeVary: varyCompleter(policy), compiled: new WeakMap(), ownKeys: new Set(), constrainedKeys: new Set() }
  enforcePolicy(fastify, routes)
  if (runtime.originsFile !== undefined) reloadOriginsFile(fastify, policy, runtime.originsFile, runtime.originsFileSetting, runtime.watchOriginsFile)
  // Preflights for paths without an OPTIONS route would otherwise reach the server's root 404
  // handler, which skips this plugin's hooks when it is registered in an encapsulated context.
  // Hidden from OpenAPI documents like @fastify/cors's (`schema.hide`, read by @fastify/swagger), and
  // given the register() `logLevel` itself: Fastify applies none to a fastify-plugin-wrapped plugin.
  fastify.options('*', { schema: { hide: policy.config.hideOptionsRoute } as FastifySchema, logLevel: (options as { logLevel?: LogLevel }).logLevel }, (_request, reply) => { reply.callNotFound() })
  // After the catch-all above, so that any later one is someone else's (@fastify/cors always adds one).
  fastify.addHook('onRoute', (route) => { prepareRoute(fastify, route, routes) })
}

/**
 * A second CORS plugin on the same routes is refused before this one changes anything: two
 * policies would answer the same preflights (Fastify's own error would be an obscure
 * FST_ERR_DUPLICATED_ROUTE on `OPTIONS *`), and @fastify/cors adds grant headers to refused origins.
 */
function refuseConflicts (fastify: FastifyInstance): void {
  if (fastify.hasDecorator('originPolicy')) {
    throw new CorsConfigError('corsPolicy', 'is registered twice on the same routes (here or in a parent context)',
      'register corsPolicy once, at the root and before the routes: one policy serves every route and the realtime plugin')
  }
  if (fastify.hasPlugin(FASTIFY_CORS)) throw fastifyCorsConflict()
  // The router stores the unprefixed catch-all as `/*`.
  const catchAll = `${fastify.prefix === '' ? '/' : fastify.prefix}*`
  if (fastify.hasRoute({ method: 'OPTIONS', url: catchAll })) {
    throw new CorsConfigError('corsPolicy', `another plugin already answers every preflight (route OPTIONS ${catchAll}): another corsPolicy or CORS plugin in a sibling context`,
      'register one CORS plugin, corsPolicy, once at the root')
  }
}

function fastifyCorsConflict (): CorsConfigError {
  return new CorsConfigError(FASTIFY_CORS, 'is registered together with corsPolicy; both would answer the same preflights, and @fastify/cors adds its headers even for origins corsPolicy refuses',
    REMOVE_FASTIFY_CORS)
}

/** Refusals, preflights and grants in onRequest; `Vary: Origin` on every response. */
function enforcePolicy (fastify: FastifyInstance, routes: Routes): void {
  const { policy, plugin, own } = routes
  // Routes registered before the plugin are not seen by `prepareRoute`, so their config is unchecked:
  // a `cors` key turns CORS off and blocks refused origins, and any `corsRefusal` but 'omit-headers' blocks (fail closed).
  const closed = routeCors(policy, false, 'block')
  const blocking = routeCors(policy, true, 'block')
  const omitting = routeCors(policy, true, 'omit-headers')
  const warned = new WeakSet<object>()
  const unprepared = (config: FastifyContextConfig & { url?: string, method?: string | string[] }): RouteCors => {
    if (config.cors === undefined) return config.corsRefusal === undefined ? plugin : config.corsRefusal === 'omit-headers' ? omitting : blocking
    // Once per route: `app.register(corsPolicy)` without await, then routes, is @fastify/cors's usual setup.
    if (!warned.has(config)) {
      warned.add(config)
      fastify.log.warn({ plugin: 'fastify-cors-io', route: `${String(config.method)} ${String(config.url)}` },
        'this route was registered before corsPolicy was loaded, so its config.cors was neither checked nor applied: CORS is off there and refused origins are blocked. Fix: `await app.register(corsPolicy, …)` before declaring routes')
    }
    return closed
  }

  /**
   * A preflight is answered by the policy of the route it asks about, found by its path and
   * Access-Control-Request-Method (the router's own match, then one pass over the routes with their
   * own config for that method), whatever route received the OPTIONS request itself.
   */
  const target = (request: FastifyRequest, method: string): RouteCors => {
    // With the Host, as the router derives it (find-my-way `host` constraint strategy), so that a
    // host-constrained route on a static path is found as the actual request would find it.
    const found = fastify.findRoute({ method, url: request.url, constraints: { host: request.headers.host } })
    return (found === null ? undefined : own.lookup(method.toUpperCase(), request.url, found.params as Record<string, string>)) ?? plugin
  }
  const corsOf = (request: FastifyRequest): RouteCors => {
    const requested = request.headers['access-control-request-method']
    if (own.size > 0 && requested !== undefined && request.method === 'OPTIONS' && request.headers.origin !== undefined) return target(request, requested)
    const config = request.routeOptions.config as PreparedConfig
    return config[ROUTE_CORS] ?? unprepared(config)
  }

  const enforce = (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction, route: RouteCors, verdict: CorsVerdict): void => {
    if (!verdict.decision.allowed && verdict.decision.reason !== 'absent') {
      route.policy.logRefusal(request.log, request.headers.origin, verdict.decision, request)
    }
    const answer = verdict.answer ?? (verdict.refusal !== undefined && route.blocks ? verdict.refusal : undefined)
    if (answer !== undefined) {
      reply.code(answer.statusCode).headers(answer.headers).send(answer.body)
      return
    }
    if (verdict.headers !== undefined) reply.headers(verdict.headers)
    next()
  }

  // onRequest runs before body parsing and any auth hook registered after this plugin, and for 404s.
  // It waits only for an `origins` function's lookup in progress; a static list decides synchronously.
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) => {
    const route = corsOf(request)
    const decision = route.policy.lookup(request.headers.origin, request.raw)
    if (!(decision instanceof Promise)) {
      enforce(request, reply, next, route, routeVerdict(route, request.method, request.headers, decision))
      return
    }
    decision.then((settled) => { enforce(request, reply, next, route, routeVerdict(route, request.method, request.headers, settled)) }).catch(next)
  })

  // Here for the 404 handler and for routes registered before the plugin; `prepareRoute` puts the
  // same hook last on every later route.
  // Installed whatever the list: an update can turn "*" (no Vary) into a list (Vary: Origin) and back.
  fastify.addHook('onSend', routes.completeVary)
  // A failing onSend hook sends its error response without running the onSend hooks again (fastify
  // `lib/reply.js` wrapOnSendEnd → onErrorHook), keeping whatever Vary it had set: complete it here.
  fastify.addHook('onError', (request, reply, _error, done) => {
    const vary = ((request.routeOptions.config as PreparedConfig)[ROUTE_CORS]?.policy ?? policy).vary
    if (vary !== undefined) reply.header('vary', appendVary(reply.getHeader('vary'), vary))
    done()
  })
}

/**
 * Completes `Vary` with `Origin` whatever a handler or hook set, for a dynamic allowlist
 * (https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches).
 */
function varyCompleter (policy: DecidingPolicy): onSendHookHandler {
  return function completeVary (_request, reply, payload, next) {
    const vary = policy.vary
    if (vary !== undefined) {
      const current = reply.getHeader('vary')
      const completed = appendVary(current, vary)
      if (completed !== current) reply.header('vary', completed)
    }
    next(null, payload)
  }
}

/**
 * Checked and prepared once per route, at registration: its CORS config is compiled (an unknown
 * key or value is an error naming the route), a foreign catch-all preflight route is a conflict, and
 * the Vary completer becomes the route's LAST onSend hook. Route-level hooks run after every
 * app-level one (Fastify docs, "Hooks": route-level hooks), so this is the only place a handler's or a
 * later hook's `Vary` cannot outlast it.
 */
function prepareRoute (fastify: FastifyInstance, route: Parameters<onRouteHookHandler>[0], routes: Routes): void {
  const methods = Array.isArray(route.method) ? route.method : [route.method]
  const name = `route ${methods.join(',')} ${route.url}`
  if (methods.includes('OPTIONS') && route.routePath === '*') {
    if (fastify.hasPlugin(FASTIFY_CORS)) throw fastifyCorsConflict()
    throw new CorsConfigError(name, 'answers every preflight, which corsPolicy already does', 'remove the route, or the other CORS plugin that adds it')
  }
  const config = route.config ?? {}
  const known = routes.compiled.has(config)
  const own = known ? routes.compiled.get(config) : compileRouteCors(name, config, routes.options, routes.policy)
  if (!known) routes.compiled.set(config, own)
  refuseConstrainedTwin(name, methods, route, own !== undefined, routes)
  if (own !== undefined) {
    for (const method of methods) routes.own.add(method, route.url, own)
    for (const warning of known ? [] : own.policy.config.warnings) {
      if (!routes.policy.config.warnings.includes(warning)) fastify.log.warn({ plugin: 'fastify-cors-io', route: name }, warning)
    }
  }
  const cors = own ?? routes.plugin
  route.config = { ...route.config, [ROUTE_CORS]: cors } as PreparedConfig
  const completeVary = cors.policy === routes.policy ? routes.completeVary : varyCompleter(cors.policy)
  route.onSend = route.onSend === undefined ? [completeVary] : [...[route.onSend].flat(), completeVary]
}

/**
 * A preflight finds its route by path and method only: it carries no Accept-Version, and Fastify's
 * `findRoute()` does not say which of the routes on one path it chose by a constraint. So a route
 * with its own config may neither have constraints nor share its method and path with a route that does.
 */
function refuseConstrainedTwin (name: string, methods: readonly string[], route: Parameters<onRouteHookHandler>[0], hasOwn: boolean, routes: Routes): void {
  const constrained = Object.keys(route.constraints ?? {}).length > 0
  if (!hasOwn && !constrained) return
  const fix = 'give the CORS config to a route without constraints on its own path, or leave that path to the plugin\'s options'
  if (hasOwn && constrained) {
    throw new CorsConfigError(`${name}: config.cors`, `cannot apply to a route with constraints (${Object.keys(route.constraints!).join(', ')}): a preflight could not tell it from the other routes on its path`, fix)
  }
  for (const key of methods.map((method) => `${method} ${route.url}`)) {
    if (hasOwn ? routes.constrainedKeys.has(key) : routes.ownKeys.has(key)) {
      throw new CorsConfigError(`${name}: config.cors`, `${key} has both a route with its own CORS config and a route with constraints: a preflight could not tell which one it asks about`, fix)
    }
    (hasOwn ? routes.ownKeys : routes.constrainedKeys).add(key)
  }
}

/** CORS for every route of the host app, from one origin allowlist (see docs/options.md). */
export const corsPolicy = fp(corsPolicyPlugin, { name: 'fastify-cors-io:cors', fastify: '5.x' })
