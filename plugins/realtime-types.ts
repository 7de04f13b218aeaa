import type { IncomingMessage } from 'node:http'
import type { FastifyCookieOptions } from '@fastify/cookie'
import type { Namespace, Server, ServerOptions, Socket } from 'socket.io'
import type { AlertInput } from '../lib/alert-log.js'
import type { Alert, ClientEventMap, DashboardEventMap, DashboardEvents } from '../lib/protocol.js'

export type { AlertInput } from '../lib/alert-log.js'
export type { Alert, AlertAck, AlertLevel, ClientEvents, ClientEventMap, DashboardEventMap, DashboardEvents } from '../lib/protocol.js'

/**
 * Events one node sends the others with `io.serverSideEmit(event, payload)` (through the `adapter`);
 * empty unless the host app declares some the same way.
 */
export interface ServerEvents {}

/** What `authenticate` returns and every socket carries as `socket.data.user`; augmentable. */
export interface SocketUser {
  id: string
}

export interface SocketData {
  user: SocketUser
}

export type ServerEventMap = { [E in keyof ServerEvents]: (payload: ServerEvents[E]) => void }

export type RealtimeServer = Server<ClientEventMap, DashboardEventMap, ServerEventMap, SocketData>
export type RealtimeNamespace = Namespace<ClientEventMap, DashboardEventMap, ServerEventMap, SocketData>
export type RealtimeSocket = Socket<ClientEventMap, DashboardEventMap, ServerEventMap, SocketData>

/** What `authenticate` sees of a connection attempt. */
export interface SocketHandshake {
  readonly headers: IncomingMessage['headers']
  /** All cookies of the handshake, as sent. */
  readonly cookies: Readonly<Record<string, string>>
  /** Signed cookies whose signature is valid, unsigned (needs a @fastify/cookie secret). */
  readonly signedCookies: Readonly<Record<string, string>>
  /** The client's `auth` payload. */
  readonly auth: Readonly<Record<string, unknown>>
  readonly address: string
  readonly namespace: string
}

export interface DashboardTarget {
  emit: <E extends keyof DashboardEvents>(event: E, payload: DashboardEvents[E]) => void
}

/** `fastify.dashboard`: typed pushes to the admin dashboard namespace. */
export interface Dashboard {
  /** The namespace itself (default `/admin`), for `connection` listeners and room management. */
  readonly namespace: RealtimeNamespace
  /** Sends to every dashboard client. */
  broadcast: <E extends keyof DashboardEvents>(event: E, payload: DashboardEvents[E]) => void
  /** Sends to every dashboard client of one user (each joins the room of its user id). */
  toUser: (id: string) => DashboardTarget
  /** Sends to every dashboard client in a room. */
  toRoom: (name: string) => DashboardTarget
  /**
   * Sets a topic's current value. Every dashboard gets the latest value of each topic at most
   * `topicRateHz` (or its `topicRates` entry) times a second, never a backlog of older ones, and a
   * dashboard that connects gets the current value of every topic at once. A topic is an event of
   * `DashboardEvents`; clients receive it as that event.
   */
  publish: <E extends keyof DashboardEvents>(topic: E, value: DashboardEvents[E]) => void
  /**
   * Pushes an alert to every dashboard and keeps it in a backlog of the latest `alertBacklog`, which a
   * dashboard that connects receives (`dashboard:alerts`). An admin acknowledges one by sending
   * `dashboard:ack` `{ id }`; every dashboard then gets `dashboard:acked` `{ id, by, at }`.
   */
  alert: (alert: AlertInput) => Alert
  /**
   * Who has a dashboard open, on every node (socket.io `fetchSockets()`): one entry per user with its
   * socket count. `scope` is `'node'` when another node did not answer within `presenceTimeoutMs` or the
   * adapter is disconnected; the list then holds this node's sockets only.
   */
  presence: () => Promise<DashboardPresence>
}

export interface DashboardPresence {
  users: Array<{ user: SocketUser, sockets: number }>
  scope: 'cluster' | 'node'
}

/** `fastify.realtimeHealth()`: for a readiness probe. */
export interface RealtimeHealth {
  /** `'degraded'` while the adapter is disconnected: this node serves its own clients only. */
  status: 'ok' | 'degraded'
  /** `'in-memory'` without `adapterReady` (one node, or an adapter the plugin cannot watch). */
  adapter: 'in-memory' | 'connected' | 'disconnected'
  /** When the adapter was last seen disconnecting (ISO 8601), while it is disconnected. */
  disconnectedSince?: string
}

/** Socket.IO options this plugin owns: `cors` and `allowRequest` derive from the origin policy. */
type OwnedServerOptions = 'cors' | 'allowRequest' | 'serveClient' | 'connectionStateRecovery'

export interface RealtimeOptions extends Partial<Omit<ServerOptions, OwnedServerOptions>> {
  /** Returns the user of a connection attempt, or nothing to refuse it with `connect_error` `unauthorized`. Required. */
  authenticate: (handshake: SocketHandshake) => SocketUser | undefined | null | Promise<SocketUser | undefined | null>
  /** Whether a user may join the dashboard namespace; others get `connect_error` `forbidden`. Required. */
  isAdmin: (user: SocketUser) => boolean | Promise<boolean>
  /**
   * engine.io's option, only `true` (its default): `false` would leave upgrades outside the Socket.IO path
   * that nobody answers open for good, so it is refused; give another listener more time with `destroyUpgradeTimeout`.
   */
  destroyUpgrade?: true
  /** Refuse engine.io requests that carry no `Origin` (non-browser clients). Default `false`. */
  requireOrigin?: boolean
  /**
   * Accept corsPolicy's `origins: '*'`, which is refused otherwise: browsers send cookies on WebSocket
   * upgrades whatever CORS says, so with `'*'` any site can open a socket as a cookie-authenticated user.
   * Only for sockets authenticated by a token in `auth`. Default `false`; logs a warning when on.
   */
  allowAnyOrigin?: boolean
  /**
   * How many namespace sockets one engine.io connection may hold at once (connected or being
   * authenticated). Further CONNECTs get `connect_error` `too-many-namespaces`; a connection that keeps
   * asking is closed. Default 5.
   */
  maxNamespacesPerConnection?: number
  /**
   * socket.io's option, default `true` here (socket.io's default is `false`): a child of a dynamic
   * namespace (`io.of(/regex/)`) is removed when its last socket leaves, refused CONNECTs included.
   */
  cleanupEmptyChildNamespaces?: boolean
  /** The dashboard namespace. Default `/admin`. */
  dashboardNamespace?: string
  /**
   * How long a dropped client may come back and receive what it missed, in ms (0 to 86400000).
   * Default 120000; 0 turns recovery off. Recovery re-runs `authenticate` (and `isAdmin`) first and
   * gives the session back only to the same user.
   */
  recoveryWindowMs?: number
  /** An extra check of handshakes, run after the origin check (engine.io's `allowRequest`). */
  verifyHandshake?: (request: IncomingMessage) => boolean | Promise<boolean>
  /**
   * On close, how long to wait for clients to close their connections after being told to disconnect,
   * before the remaining ones are cut, in ms (0 to 60000). Default 1000.
   */
  shutdownGraceMs?: number
  /** How many times a second at most each dashboard gets a topic of `publish()` (0.01 to 1000). Default 10. */
  topicRateHz?: number
  /** Per-topic rates overriding `topicRateHz`, e.g. `{ metrics: 1 }`. Default `{}`. */
  topicRates?: { [T in keyof DashboardEvents]?: number }
  /** How many distinct topics `publish()` keeps (1 to 10000); one more throws. Default 100. */
  maxTopics?: number
  /** How many of the latest alerts a dashboard that connects receives (0 to 1000). Default 50. */
  alertBacklog?: number
  /**
   * `{ secret, algorithm, parseOptions }` for reading handshake cookies when the host registers no
   * @fastify/cookie (before or after realtime); refused beside the host's own.
   */
  cookiePlugin?: FastifyCookieOptions
  /**
   * Whether the `adapter`'s connection (e.g. the Redis client: `() => redis.isReady`) is up. While it
   * is not, broadcasts reach this node's clients at once instead of waiting for the connection, nothing
   * is queued for the other nodes, sessions are neither stored nor restored, and `realtimeHealth()`
   * says `degraded`. Needs an adapter built on socket.io-adapter's `ClusterAdapter`, such as
   * `@socket.io/redis-streams-adapter`.
   */
  adapterReady?: () => boolean
  /** How long `dashboard.presence()` waits for the other nodes, in ms (1 to 60000). Default 1000. */
  presenceTimeoutMs?: number
}
