import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { SESSION_COOKIE, type SessionStore } from '../sessions.js'
import { sessionId, sessionUser } from '../session-auth.js'
import { checkCredentials, type DemoUser } from '../users.js'

export interface AuthRoutesOptions {
  sessions: SessionStore
}

interface Credentials {
  username: string
  password: string
}

const credentialsSchema = {
  type: 'object',
  required: ['username', 'password'],
  properties: {
    username: { type: 'string', maxLength: 100 },
    password: { type: 'string', maxLength: 100 }
  }
} as const

/**
 * The demo login, as a JSON API for scripts and other origins, and as a plain
 * HTML form for the app's own login page.
 */
export async function authRoutes (app: FastifyInstance, { sessions }: AuthRoutesOptions) {
  // The login form posts urlencoded fields; a tiny parser avoids another dependency.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  function startSession (reply: FastifyReply, user: DemoUser): void {
    reply.setCookie(SESSION_COOKIE, sessions.create(user), {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      maxAge: sessions.ttlSeconds
    })
  }

  app.post<{ Body: Credentials }>('/api/login', { schema: { body: credentialsSchema } }, async (request, reply) => {
    const user = checkCredentials(request.body.username, request.body.password)
    if (user === undefined) {
      return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'Wrong user name or password' })
    }
    startSession(reply, user)
    return { user }
  })

  app.post<{ Body: Credentials }>('/login', { schema: { body: credentialsSchema } }, async (request, reply) => {
    const user = checkCredentials(request.body.username, request.body.password)
    if (user === undefined) return reply.redirect('/login?failed=1', 303)
    startSession(reply, user)
    return reply.redirect(user.role === 'admin' ? '/admin' : '/login?loggedIn=1', 303)
  })

  function endSession (request: FastifyRequest, reply: FastifyReply): void {
    // Also disconnects the session's live sockets (SessionStore onEnd).
    sessions.end(sessionId(request), 'logged-out')
    reply.clearCookie(SESSION_COOKIE, { path: '/' })
  }

  app.post('/api/logout', async (request, reply) => {
    endSession(request, reply)
    return reply.code(204).send()
  })

  app.post('/logout', async (request, reply) => {
    endSession(request, reply)
    return reply.redirect('/login', 303)
  })

  app.get('/api/me', async (request, reply) => {
    const user = sessionUser(request, sessions)
    if (user === undefined) {
      return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'Not logged in' })
    }
    return { user }
  })
}
