import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Server as Engine } from 'engine.io'
import { engineUrlMatcher, OpenSet, rawHttpResponse } from '../lib/engine-http.js'
import type { CorsAnswer, OriginPolicy, WarnLogger } from '../lib/origin-policy.js'

export interface EngineGateOptions {
  policy: OriginPolicy
  engine: Engine
  path: string
  requireOrigin: boolean
  log: WarnLogger
}

/**
 * Puts the origin policy in front of engine.io on the raw HTTP server. engine.io answers its path
 * before any Fastify hook runs, and its own `allowRequest` never sees requests that carry a `sid`
 * ([F42]–[F44]), so every polling request and every upgrade is checked here first ([D4]).
 */
export interface EngineGate {
  /** Raw sockets of upgrades handed to engine.io that are still open (to cut them at shutdown). */
  readonly upgrades: OpenSet<Duplex>
}

export function gateEngine (server: HttpServer, options: EngineGateOptions): EngineGate {
  const { policy, engine, requireOrigin, log } = options
  const isEngineUrl = engineUrlMatcher(options.path)
  const upgrades = new OpenSet<Duplex>()

  /** The answer that ends this request before engine.io sees it, if any. */
  const refusalOf = (request: IncomingMessage): { answer?: CorsAnswer, grant?: Record<string, string> } => {
    const verdict = policy.verdict(request.method, request.headers)
    const { decision } = verdict
    if (decision.allowed || (decision.reason === 'absent' && !requireOrigin)) {
      return { answer: verdict.answer, grant: verdict.headers }
    }
    policy.logRefusal(log, request.headers.origin, decision, request)
    return { answer: verdict.answer ?? verdict.refusal ?? policy.refuse(undefined, decision, false) }
  }

  const appListeners = server.listeners('request') as Array<(request: IncomingMessage, response: ServerResponse) => void>
  server.removeAllListeners('request')
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (!isEngineUrl(request.url)) {
      for (const listener of appListeners) listener.call(server, request, response)
      return
    }
    const { answer, grant } = refusalOf(request)
    if (policy.vary !== undefined) response.setHeader('vary', policy.vary)
    if (answer !== undefined) {
      response.writeHead(answer.statusCode, answer.headers).end(answer.body)
      return
    }
    // Set before engine.io writes, so its own errors (400 "Session ID unknown") carry them too ([F26]).
    if (grant !== undefined) for (const name in grant) response.setHeader(name, grant[name])
    engine.handleRequest(request, response)
  })

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!isEngineUrl(request.url)) {
      // Adding an upgrade listener takes these out of Node's hands; with no other handler, close them
      // rather than leave them hanging (engine.io's own attach() does the same).
      if (server.listenerCount('upgrade') === 1) socket.destroy()
      return
    }
    const { answer } = refusalOf(request)
    if (answer === undefined) {
      upgrades.add(socket)
      engine.handleUpgrade(request, socket, head)
      return
    }
    socket.on('error', () => {}) // the peer may reset first; nothing is left to tell it
    socket.end(rawHttpResponse(answer), () => socket.destroy())
  })
  return { upgrades }
}
