import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import type { CorsPolicyOptions, RefusalMode } from '../lib/config.js'
import { appendVary, createOriginPolicy, type OriginPolicy } from '../lib/origin-policy.js'

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

const corsPolicyPlugin: FastifyPluginAsync<CorsPolicyOptions> = async (fastify, options) => {
  const policy = createOriginPolicy(options)
  for (const warning of policy.config.warnings) fastify.log.warn({ plugin: 'fastify-cors-io' }, warning)
  fastify.decorate('originPolicy', policy)

  const blocksRefused = (request: FastifyRequest): boolean =>
    (request.routeOptions.config.corsRefusal ?? policy.config.refusal) === 'block'

  // onRequest runs before body parsing and any auth hook registered after this plugin, and for 404s.
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) => {
    const verdict = policy.verdict(request.method, request.headers)
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

  // Preflights for paths without an OPTIONS route would otherwise reach the server's root 404
  // handler, which skips this plugin's hooks when it is registered in an encapsulated context.
  fastify.options('*', (_request, reply) => { reply.callNotFound() })

  // Vary is completed last, so a handler that sets its own Vary cannot drop Origin ([D6]).
  const vary = policy.vary
  if (vary !== undefined) {
    fastify.addHook('onSend', (_request, reply, payload, next) => {
      const current = reply.getHeader('vary')
      const completed = appendVary(current, vary)
      if (completed !== current) reply.header('vary', completed)
      next(null, payload)
    })
  }
}

/** CORS for every route of the host app, from one origin allowlist (see docs/options.md). */
export const corsPolicy = fp(corsPolicyPlugin, { name: 'fastify-cors-io:cors', fastify: '5.x' })
