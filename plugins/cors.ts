import type {
  FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRouteHookHandler, onSendHookHandler
} from 'fastify'
import fp from 'fastify-plugin'
import { isRefusalMode, refusalModeError, type CorsPolicyOptions, type RefusalMode } from '../lib/config.js'
import { CorsConfigError } from '../lib/errors.js'
import { appendVary, createOriginPolicy, type CorsVerdict, type OriginPolicy } from '../lib/origin-policy.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The compiled origin policy; the realtime plugin enforces this very object on Socket.IO. */
    originPolicy: OriginPolicy
  }
  interface FastifyContextConfig {
    /** Per-route refusal mode, e.g. `'omit-headers'` for an OAuth form_post callback that foreign sites POST to. */
    corsRefusal?: RefusalMode
  }
}

const FASTIFY_CORS = '@fastify/cors'
const REMOVE_FASTIFY_CORS = 'remove @fastify/cors: corsPolicy answers preflights and sets the CORS headers itself (its `origin` option is `origins` here; see docs/options.md)'

const corsPolicyPlugin: FastifyPluginAsync<CorsPolicyOptions> = async (fastify, options) => {
  refuseConflicts(fastify)
  const policy = createOriginPolicy(options)
  for (const warning of policy.config.warnings) fastify.log.warn({ plugin: 'fastify-cors-io' }, warning)
  fastify.decorate('originPolicy', policy)
  const completeVary = policy.vary === undefined ? undefined : varyCompleter(policy.vary)
  enforcePolicy(fastify, policy, completeVary)
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
function enforcePolicy (fastify: FastifyInstance, policy: OriginPolicy, completeVary: onSendHookHandler | undefined): void {
  const vary = policy.vary
  // An unknown route value cannot occur after `prepareRoute`; routes registered before the plugin
  // are not checked there, so anything but 'omit-headers' blocks (fail closed).
  const blocksRefused = (request: FastifyRequest): boolean =>
    (request.routeOptions.config.corsRefusal ?? policy.config.refusal) !== 'omit-headers'

  const enforce = (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction, verdict: CorsVerdict): void => {
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
  }

  // onRequest runs before body parsing and any auth hook registered after this plugin, and for 404s.
  // It waits only for an `origins` function's lookup in progress; a static list decides synchronously.
  fastify.addHook('onRequest', policy.resolver !== undefined
    ? (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) => {
        reply.raw.setHeader('vary', 'Origin')
        const decision = policy.lookup(request.headers.origin, request.raw)
        if (!(decision instanceof Promise)) {
          enforce(request, reply, next, policy.verdict(request.method, request.headers, decision))
          return
        }
        decision.then((settled) => { enforce(request, reply, next, policy.verdict(request.method, request.headers, settled)) }).catch(next)
      }
    : (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) => {
        // On the raw response too: a handler that calls reply.hijack() skips onSend and reply headers.
        if (vary !== undefined) reply.raw.setHeader('vary', vary)
        enforce(request, reply, next, policy.verdict(request.method, request.headers))
      })

  // Here for the 404 handler and for routes registered before the plugin; `prepareRoute` puts the
  // same hook last on every later route.
  if (completeVary !== undefined) fastify.addHook('onSend', completeVary)
  // A failing onSend hook sends its error response without running the onSend hooks again (fastify
  // `lib/reply.js` wrapOnSendEnd → onErrorHook), keeping whatever Vary it had set: complete it here.
  if (vary !== undefined) {
    fastify.addHook('onError', (_request, reply, _error, done) => {
      reply.header('vary', appendVary(reply.getHeader('vary'), vary))
      done()
    })
  }
}

/**
 * Completes `Vary` with `Origin` whatever a handler or hook set, for a dynamic allowlist
 * (https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches).
 */
function varyCompleter (vary: string): onSendHookHandler {
  return function completeVary (_request, reply, payload, next) {
    const current = reply.getHeader('vary')
    const completed = appendVary(current, vary)
    if (completed !== current) reply.header('vary', completed)
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
function prepareRoute (fastify: FastifyInstance, route: Parameters<onRouteHookHandler>[0], completeVary: onSendHookHandler | undefined): void {
  const methods = Array.isArray(route.method) ? route.method : [route.method]
  const name = `route ${methods.join(',')} ${route.url}`
  const mode: unknown = route.config?.corsRefusal
  if (mode !== undefined && !isRefusalMode(mode)) throw refusalModeError(`${name}: config.corsRefusal`, mode)
  if (methods.includes('OPTIONS') && route.routePath === '*') {
    if (fastify.hasPlugin(FASTIFY_CORS)) throw fastifyCorsConflict()
    throw new CorsConfigError(name, 'answers every preflight, which corsPolicy already does', 'remove the route, or the other CORS plugin that adds it')
  }
  if (completeVary === undefined) return
  route.onSend = route.onSend === undefined ? [completeVary] : [...[route.onSend].flat(), completeVary]
}

/** CORS for every route of the host app, from one origin allowlist (see docs/options.md). */
export const corsPolicy = fp(corsPolicyPlugin, { name: 'fastify-cors-io:cors', fastify: '5.x' })
