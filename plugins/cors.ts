import type {
  FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRouteHookHandler, onSendHookHandler
} from 'fastify'
import fp from 'fastify-plugin'
import { isRouteRefusalMode, refusalModeError, ROUTE_REFUSAL_MODES, type CorsPolicyOptions, type RouteRefusalMode } from '../lib/config.js'
import { CorsConfigError } from '../lib/errors.js'
import { LiveOriginPolicy } from '../lib/live-policy.js'
import { appendVary } from '../lib/origin-policy.js'
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
    /** Per-route refusal mode, e.g. `'omit-headers'` for an OAuth form_post callback that foreign sites POST to. */
    corsRefusal?: RouteRefusalMode
  }
}

const FASTIFY_CORS = '@fastify/cors'
const REMOVE_FASTIFY_CORS = 'remove @fastify/cors: corsPolicy answers preflights and sets the CORS headers itself (its `origin` option is `origins` here; see docs/options.md)'

const corsPolicyPlugin: FastifyPluginAsync<CorsPolicyOptions> = async (fastify, options) => {
  refuseConflicts(fastify)
  const runtime = resolveRuntimeOptions(options, process.env)
  const policy = new LiveOriginPolicy(runtime.policyOptions, process.env, fastify.log, runtime.statsOrigins)
  for (const warning of policy.config.warnings) fastify.log.warn({ plugin: 'fastify-cors-io' }, warning)
  if (runtime.registry !== undefined) await registerMetrics(fastify, policy, runtime.registry)
  fastify.decorate('originPolicy', policy)
  // Installed whatever the list: an update can turn "*" (no Vary) into a list (Vary: Origin) and back.
  const completeVary = varyCompleter(policy)
  enforcePolicy(fastify, policy, completeVary)
  if (runtime.originsFile !== undefined) reloadOriginsFile(fastify, policy, runtime.originsFile, runtime.originsFileSetting, runtime.watchOriginsFile)
  // Preflights for paths without an OPTIONS route would otherwise reach the server's root 404
  // handler, which skips this plugin's hooks when it is registered in an encapsulated context.
  fastify.options('*', (_request, reply) => { reply.callNotFound() })
  // After the catch-all above, so that any later one is someone else's (@fastify/cors always adds one).
  fastify.addHook('onRoute', (route) => { prepareRoute(fastify, route, completeVary) })
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
function enforcePolicy (fastify: FastifyInstance, policy: LiveOriginPolicy, completeVary: onSendHookHandler): void {
  // An unknown route value cannot occur after `prepareRoute`; routes registered before the plugin
  // are not checked there, so anything but 'omit-headers' blocks (fail closed).
  const blocksRefused = (request: FastifyRequest): boolean =>
    (request.routeOptions.config.corsRefusal ?? policy.config.refusal) !== 'omit-headers'

  // onRequest runs before body parsing and any auth hook registered after this plugin, and for 404s.
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) => {
    // On the raw response too: a handler that calls reply.hijack() skips onSend and reply headers.
    const vary = policy.vary
    if (vary !== undefined) reply.raw.setHeader('vary', vary)
    const verdict = policy.verdict(request.method, request.headers, 'http')
    if (!verdict.decision.allowed && verdict.decision.reason !== 'absent') {
      policy.logRefusal(request.log, request.headers.origin, verdict.decision, request)
    }
    const answer = verdict.answer ?? (verdict.refusal !== undefined && blocksRefused(request) ? verdict.refusal : undefined)
    if (answer !== undefined) {
      reply.code(answer.statusCode).headers(answer.headers).send(answer.body)
      return
    }
    if (verdict.headers !== undefined) reply.headers(verdict.headers)
    next()
  })

  // Here for the 404 handler and for routes registered before the plugin; `prepareRoute` puts the
  // same hook last on every later route.
  fastify.addHook('onSend', completeVary)
  // A failing onSend hook sends its error response without running the onSend hooks again (fastify
  // `lib/reply.js` wrapOnSendEnd → onErrorHook), keeping whatever Vary it had set: complete it here.
  fastify.addHook('onError', (_request, reply, _error, done) => {
    const vary = policy.vary
    if (vary !== undefined) reply.header('vary', appendVary(reply.getHeader('vary'), vary))
    done()
  })
}

/**
 * Completes `Vary` with `Origin` whatever a handler or hook set, for a dynamic allowlist
 * (https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches).
 */
function varyCompleter (policy: LiveOriginPolicy): onSendHookHandler {
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
 * Checked and prepared once per route, at registration: an unknown `config.corsRefusal` is an
 * error (it would otherwise turn the block off there), a foreign catch-all preflight route is a
 * conflict, and the Vary completer becomes the route's LAST onSend hook. Route-level hooks run
 * after every app-level one (Fastify docs, "Hooks": route-level hooks), so this is the only place
 * a handler's or a later hook's `Vary` cannot outlast it.
 */
function prepareRoute (fastify: FastifyInstance, route: Parameters<onRouteHookHandler>[0], completeVary: onSendHookHandler): void {
  const methods = Array.isArray(route.method) ? route.method : [route.method]
  const name = `route ${methods.join(',')} ${route.url}`
  const mode: unknown = route.config?.corsRefusal
  if (mode !== undefined && !isRouteRefusalMode(mode)) throw refusalModeError(`${name}: config.corsRefusal`, mode, ROUTE_REFUSAL_MODES)
  if (methods.includes('OPTIONS') && route.routePath === '*') {
    if (fastify.hasPlugin(FASTIFY_CORS)) throw fastifyCorsConflict()
    throw new CorsConfigError(name, 'answers every preflight, which corsPolicy already does', 'remove the route, or the other CORS plugin that adds it')
  }
  route.onSend = route.onSend === undefined ? [completeVary] : [...[route.onSend].flat(), completeVary]
}

/** CORS for every route of the host app, from one origin allowlist (see docs/options.md). */
export const corsPolicy = fp(corsPolicyPlugin, { name: 'fastify-cors-io:cors', fastify: '5.x' })
