import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { SESSION_COOKIE, type SessionStore } from './sessions.js'
import type { DemoUser } from './users.js'

/** The logged-in user of an HTTP request, from the signed session cookie. */
export function sessionUser (request: FastifyRequest, sessions: SessionStore): DemoUser | undefined {
  return sessions.find(sessionId(request))
}

/** The session id, or `undefined` when the cookie is missing or its signature is wrong. */
export function sessionId (request: FastifyRequest): string | undefined {
  const signed = request.cookies[SESSION_COOKIE]
  if (signed === undefined) return undefined
  const unsigned = request.unsignCookie(signed)
  return unsigned.valid ? unsigned.value : undefined
}

function refuse (reply: FastifyReply, statusCode: 401 | 403, message: string) {
  return reply.code(statusCode).send({
    statusCode,
    error: statusCode === 401 ? 'Unauthorized' : 'Forbidden',
    message
  })
}

export function requireAdmin (sessions: SessionStore): preHandlerAsyncHookHandler {
  return async function checkAdmin (request, reply) {
    const user = sessionUser(request, sessions)
    if (user === undefined) return refuse(reply, 401, 'Log in first')
    if (user.role !== 'admin') return refuse(reply, 403, 'Admins only')
  }
}
