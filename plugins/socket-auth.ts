import type { FastifyInstance } from 'fastify'
import { Socket } from 'socket.io'
import type { CookieReader } from './handshake-cookies.js'
import type { RealtimeNamespace, RealtimeOptions, RealtimeSocket, SocketHandshake, SocketUser } from './realtime-types.js'

import type { SocketOutcome } from '../lib/origin-stats.js'
import { CONNECT_ERRORS, type ConnectErrorCode } from '../lib/protocol.js'

/** Stable `connect_error` messages a client can switch on; the table lives in lib/protocol.ts. */
export { CONNECT_ERRORS }

/** What the checks decided for one CONNECT: the user, or the `connect_error` code refusing it. */
type Verdict = { user: SocketUser, refusal?: undefined } | { user?: undefined, refusal: ConnectErrorCode }

type Client = RealtimeSocket['client']
type Session = NonNullable<ConstructorParameters<typeof Socket>[3]>

/** The private parts of a socket.io 4.8 Namespace this module hooks (socket.io `dist/namespace.js`). */
interface NamespaceInternals {
  _createSocket: (client: Client, auth: Record<string, unknown>) => Promise<RealtimeSocket>
  _remove: (socket: RealtimeSocket) => void
}

type HandshakeCookies = Pick<SocketHandshake, 'cookies' | 'signedCookies'>
/** A handshake without a Cookie header: one shared frozen answer, so that such a connection keeps no cookie objects. */
const NO_COOKIES: HandshakeCookies = Object.freeze({ cookies: Object.freeze({}), signedCookies: Object.freeze({}) })

/** What one engine.io connection has cost so far; it lives as long as the connection. */
interface ConnectionState {
  /** Parsed and unsigned once: every CONNECT of the connection carries the same handshake. */
  cookies?: HandshakeCookies
  /** Namespace sockets created and not yet removed (connected, or still in the middlewares). */
  sockets: number
  /** CONNECTs refused for going over `maxNamespacesPerConnection`. */
  refused: number
}

export interface SocketGuardOptions extends Pick<RealtimeOptions, 'authenticate' | 'isAdmin'> {
  dashboardNamespace: string
  maxNamespacesPerConnection: number
  /** Connection-state recovery is on. */
  recovery: boolean
  /** Counts each CONNECT this guard refuses. */
  count: (outcome: SocketOutcome) => void
  /** How to read handshake cookies; known once the app is ready, before any handshake. */
  cookies: () => CookieReader
}

/** Engine.io connections by their socket, so a connection's state goes with it. */
type Connection = Client['conn']

/**
 * Who gets a namespace socket. `guard(namespace)` makes every CONNECT to that namespace run
 * `authenticate` (and `isAdmin` on the dashboard) once, before anything else of the socket exists.
 *
 * Recovery: socket.io restores a session inside `new Socket()` (socket.io `dist/socket.js`
 * constructor: rooms joined, `data` restored, missed packets written to the client) and runs the
 * middlewares only after it (`dist/namespace.js` `_add()` → `_createSocket()` → `run()`), so a
 * middleware comes too late to keep a stranger holding a `(pid, offset)` pair from the missed events.
 * The checks therefore run in `_createSocket()`, and the session is restored only for the same user,
 * still authorized, and not already connected; anything else gets a fresh socket that the same verdict
 * then refuses or admits, without the old rooms and packets.
 */
export function socketGuard (fastify: FastifyInstance, options: SocketGuardOptions): (namespace: RealtimeNamespace) => void {
  const { authenticate, isAdmin, dashboardNamespace, maxNamespacesPerConnection, recovery, count, cookies } = options
  const connections = new WeakMap<Connection, ConnectionState>()
  /** Verdicts reached before the socket existed (recovery, the bound), for the middleware to apply. */
  const decided = new WeakMap<RealtimeSocket, Verdict>()
  let warnedNonUser = false
  let warnedNonBoolean = false

  const stateOf = (connection: Connection): ConnectionState => {
    let state = connections.get(connection)
    if (state === undefined) connections.set(connection, state = { sockets: 0, refused: 0 })
    return state
  }

  const handshakeOf = (client: Client, auth: Record<string, unknown>, namespace: string): SocketHandshake => {
    const { headers } = client.request
    const state = stateOf(client.conn)
    state.cookies ??= parseCookies(cookies(), headers.cookie)
    return { headers, ...state.cookies, auth, address: client.conn.remoteAddress, namespace }
  }

  const toUser = (value: unknown): SocketUser | undefined => {
    if (isUser(value)) return value
    if (value !== undefined && value !== null && !warnedNonUser) {
      warnedNonUser = true
      fastify.log.warn({ type: typeof value }, `authenticate returned a value of type ${typeof value}, not a user ({ id: non-empty string }) nor undefined/null; such connections are refused as unauthorized`)
    }
    return undefined
  }

  /** Runs a check; a throw refuses with `server-error` and is logged, never leaked to the client. */
  const attempt = async <T>(name: string, context: object, check: () => T | Promise<T>): Promise<{ value: T } | Verdict> => {
    try {
      return { value: await check() }
    } catch (error) {
      fastify.log.error({ err: error, ...context }, `${name} threw; connection refused`)
      return { refusal: CONNECT_ERRORS.serverError }
    }
  }

  const admit = async (client: Client, auth: Record<string, unknown>, namespace: string): Promise<Verdict> => {
    const authenticated = await attempt('authenticate', { namespace }, () => authenticate(handshakeOf(client, auth, namespace)))
    if (!('value' in authenticated)) return authenticated
    const user = toUser(authenticated.value)
    if (user === undefined) return { refusal: CONNECT_ERRORS.unauthorized }
    if (namespace !== dashboardNamespace) return { user }
    const admin = await attempt('isAdmin', { namespace, userId: user.id }, () => isAdmin(user))
    if (!('value' in admin)) return admin
    if (admin.value === true) return { user }
    if (admin.value !== false && !warnedNonBoolean) {
      warnedNonBoolean = true
      fastify.log.warn({ type: typeof admin.value }, `isAdmin returned a value of type ${typeof admin.value}, not a boolean; only true admits, so such connections are refused as forbidden`)
    }
    return { refusal: CONNECT_ERRORS.forbidden }
  }

  const overBound = (state: ConnectionState, client: Client): Verdict => {
    state.refused++
    const details = { address: client.conn.remoteAddress, limit: maxNamespacesPerConnection, refused: state.refused }
    if (state.refused === 1) fastify.log.warn(details, 'a connection asked for more namespace sockets than maxNamespacesPerConnection; refused')
    if (state.refused === maxNamespacesPerConnection) {
      fastify.log.warn(details, 'a connection kept asking for more namespace sockets than maxNamespacesPerConnection; closed')
      client.conn.close()
    }
    return { refusal: CONNECT_ERRORS.tooManyNamespaces }
  }

  const middleware = (socket: RealtimeSocket, next: (error?: Error) => void): void => {
    const known = decided.get(socket)
    decided.delete(socket)
    const verdict = known === undefined ? admit(socket.client, socket.handshake.auth, socket.nsp.name) : Promise.resolve(known)
    verdict.then(({ user, refusal }) => {
      if (user !== undefined) socket.data.user = user
      if (refusal !== undefined) count(refusal)
      next(refusal === undefined ? undefined : new Error(refusal))
    }, next)
  }

  return (namespace) => {
    const internals = namespace as unknown as NamespaceInternals
    const createSocket = internals._createSocket.bind(namespace)
    const remove = internals._remove.bind(namespace)

    internals._createSocket = async (client, auth) => {
      const state = stateOf(client.conn)
      const refused = state.sockets >= maxNamespacesPerConnection ? overBound(state, client) : undefined
      state.sockets++
      const { pid, offset, ...fresh } = auth
      if (refused !== undefined || !recovery || typeof pid !== 'string' || typeof offset !== 'string') {
        const socket = await createSocket(client, refused === undefined ? auth : fresh)
        if (refused !== undefined) decided.set(socket, refused)
        return socket
      }
      const verdict = await admit(client, auth, namespace.name)
      const session = verdict.user === undefined ? undefined : await restoreSession(namespace, pid, offset)
      const same = session !== undefined && (session.data as { user?: SocketUser } | undefined)?.user?.id === verdict.user?.id &&
        !namespace.sockets.has(session.sid)
      // As socket.io's own `_createSocket()` does with a restored session (`dist/namespace.js`).
      const socket = same ? new Socket(namespace, client, auth, session) as RealtimeSocket : await createSocket(client, fresh)
      decided.set(socket, verdict)
      return socket
    }
    // Every socket `_createSocket()` made leaves through `_remove()`, once: refused, cut before its
    // middlewares finished, or disconnected (socket.io `dist/socket.js` `_cleanup()`).
    internals._remove = (socket) => {
      remove(socket)
      stateOf(socket.client.conn).sockets--
    }
    namespace.use(middleware)
  }
}

async function restoreSession (namespace: RealtimeNamespace, pid: string, offset: string): Promise<Session | undefined> {
  try {
    return await namespace.adapter.restoreSession(pid, offset) ?? undefined
  } catch {
    return undefined // as socket.io does: an adapter that cannot restore gives a fresh socket
  }
}

/** All cookies of a handshake, and those whose signature is valid, unsigned. */
function parseCookies (reader: CookieReader, header: string | undefined): HandshakeCookies {
  if (header === undefined) return NO_COOKIES
  const cookies = reader.parse(header)
  const signedCookies: Record<string, string> = {}
  if (reader.unsign !== undefined) {
    for (const [name, value] of Object.entries(cookies)) {
      const unsigned = reader.unsign(value)
      if (unsigned.valid && unsigned.value !== null) signedCookies[name] = unsigned.value
    }
  }
  // Shared by every CONNECT of the connection: no `authenticate` may change what the next one sees.
  return { cookies: Object.freeze(cookies), signedCookies: Object.freeze(signedCookies) }
}

function isUser (value: unknown): value is SocketUser {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string' && (value as SocketUser).id !== ''
}
