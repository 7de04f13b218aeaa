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

/**
 * A namespace middleware from a check that returns the `connect_error` code refusing the socket, or
 * nothing to let it in. A check that throws refuses with `server-error` and is logged, never leaked.
 */
function guard (fastify: FastifyInstance, name: string, check: (socket: RealtimeSocket) => Promise<string | undefined>): Middleware {
  return (socket, next) => {
    Promise.resolve().then(() => check(socket)).then((refusal) => {
      next(refusal === undefined ? undefined : new Error(refusal))
    }, (error: unknown) => {
      fastify.log.error({ err: error, namespace: socket.nsp.name, userId: socket.data.user?.id }, `${name} threw; connection refused`)
      next(new Error(CONNECT_ERRORS.serverError))
    })
  }
}

/** Namespace middleware: `authenticate` decides who the socket is, or refuses it. */
export function authenticationMiddleware (fastify: FastifyInstance, authenticate: RealtimeOptions['authenticate']): Middleware {
  return guard(fastify, 'authenticate', async (socket) => {
    const user = await authenticate(handshakeOf(fastify, socket))
    if (user === undefined || user === null) return CONNECT_ERRORS.unauthorized
    socket.data.user = user
    return undefined
  })
}

/** Dashboard middleware, after authentication: only `isAdmin` users join. */
export function adminMiddleware (fastify: FastifyInstance, isAdmin: RealtimeOptions['isAdmin']): Middleware {
  return guard(fastify, 'isAdmin', async (socket) => await isAdmin(socket.data.user) ? undefined : CONNECT_ERRORS.forbidden)
}
