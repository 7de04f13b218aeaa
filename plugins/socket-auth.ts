import type { FastifyInstance } from 'fastify'
import type { ExtendedError } from 'socket.io'
import type { RealtimeOptions, RealtimeSocket, SocketHandshake } from './realtime-types.js'

/** Stable `connect_error` messages a client can switch on. */
export const CONNECT_ERRORS = Object.freeze({
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  serverError: 'server-error'
})

type Middleware = (socket: RealtimeSocket, next: (error?: ExtendedError) => void) => void

/** Builds what `authenticate` sees: the handshake, with cookies parsed and signed ones verified. */
export function handshakeOf (fastify: FastifyInstance, socket: RealtimeSocket): SocketHandshake {
  const { headers, auth, address } = socket.handshake
  const cookies = headers.cookie === undefined ? {} : fastify.parseCookie(headers.cookie) as Record<string, string>
  const signedCookies: Record<string, string> = {}
  if (fastify.hasDecorator('unsignCookie')) {
    for (const [name, value] of Object.entries(cookies)) {
      const unsigned = fastify.unsignCookie(value)
      if (unsigned.valid && unsigned.value !== null) signedCookies[name] = unsigned.value
    }
  }
  return { headers, cookies, signedCookies, auth, address, namespace: socket.nsp.name }
}

/** Namespace middleware: `authenticate` decides who the socket is, or refuses it. */
export function authenticationMiddleware (fastify: FastifyInstance, authenticate: RealtimeOptions['authenticate']): Middleware {
  return (socket, next) => {
    Promise.resolve()
      .then(() => authenticate(handshakeOf(fastify, socket)))
      .then((user) => {
        if (user === undefined || user === null) {
          next(new Error(CONNECT_ERRORS.unauthorized))
          return
        }
        socket.data.user = user
        next()
      }, (error: unknown) => {
        fastify.log.error({ err: error, namespace: socket.nsp.name }, 'authenticate threw; connection refused')
        next(new Error(CONNECT_ERRORS.serverError))
      })
  }
}

/** Dashboard middleware, after authentication: only `isAdmin` users join. */
export function adminMiddleware (fastify: FastifyInstance, isAdmin: RealtimeOptions['isAdmin']): Middleware {
  return (socket, next) => {
    Promise.resolve()
      .then(() => isAdmin(socket.data.user))
      .then((admin) => { next(admin ? undefined : new Error(CONNECT_ERRORS.forbidden)) }, (error: unknown) => {
        fastify.log.error({ err: error, userId: socket.data.user.id }, 'isAdmin threw; connection refused')
        next(new Error(CONNECT_ERRORS.serverError))
      })
  }
}
