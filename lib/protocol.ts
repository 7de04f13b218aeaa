/**
 * The codes the server sends, in one table for the host app and for a browser client to switch on (as
 * engine.io keeps its own in `Server.errors`, engine.io `lib/server.ts`). This module imports nothing,
 * so a client bundle can take it as it is.
 */

/** The `message` of a `connect_error` that refuses a namespace CONNECT (socket.io `CONNECT_ERROR` packet). */
export const CONNECT_ERRORS = Object.freeze({
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  serverError: 'server-error',
  tooManyNamespaces: 'too-many-namespaces'
} as const)
export type ConnectErrorCode = typeof CONNECT_ERRORS[keyof typeof CONNECT_ERRORS]

/**
 * The `code` in the JSON body of the engine.io gate's own refusals (a raw HTTP response on an upgrade),
 * besides origin refusals (`ORIGIN_REFUSED`).
 */
export const GATE_CODES = Object.freeze({
  jsonp: 'JSONP_REFUSED',
  crossSite: 'CROSS_SITE_REFUSED',
  websocketVersion: 'WEBSOCKET_VERSION_UNSUPPORTED',
  closing: 'SERVER_CLOSING',
  failure: 'GATE_FAILURE'
} as const)
export type GateCode = typeof GATE_CODES[keyof typeof GATE_CODES]

/** The `code` in the 403 body of an origin refusal, on HTTP routes and on engine.io requests and upgrades alike. */
export const ORIGIN_REFUSED = 'ORIGIN_REFUSED'

/** Events the server itself sends to a socket, besides the host app's own. */
export const SERVER_EVENTS = Object.freeze({
  /** Just before the server disconnects a socket whose origin a live allowlist update refuses; payload `OriginRevokedPayload`. */
  originRevoked: 'fastify-cors-io:origin-revoked'
} as const)

/** The `code` of the `SERVER_EVENTS.originRevoked` payload. */
export const ORIGIN_REVOKED = 'ORIGIN_REVOKED'

/** What a socket is told before an allowlist update disconnects it: THAT, never which entry or why. */
export interface OriginRevokedPayload {
  readonly code: typeof ORIGIN_REVOKED
  readonly message: string
}

/**
 * Dashboard event names and their payload types, one declaration for the server (`fastify.dashboard`)
 * and the browser client (`fastify-cors-io/client`). Empty here: the host app declares its events by
 * declaration merging, and only those compile, on both sides:
 * ```ts
 * declare module 'fastify-cors-io' {
 *   interface DashboardEvents { metrics: { rss: number } }
 * }
 * ```
 * A topic of `fastify.dashboard.publish()` is one of these events.
 */
export interface DashboardEvents {}

/** Events clients may send to the server; empty unless the host app declares some the same way. */
export interface ClientEvents {}

/** The events the library itself uses on the dashboard namespace, besides the host app's. */
export const DASHBOARD_EVENTS = Object.freeze({
  /** Server → client: one new alert. */
  alert: 'dashboard:alert',
  /** Server → client, once on connect: the alerts backlog, oldest first. */
  alerts: 'dashboard:alerts',
  /** Client → server: an admin acknowledges an alert by id. */
  ack: 'dashboard:ack',
  /** Server → client: who acknowledged which alert. */
  acked: 'dashboard:acked'
} as const)

export const ALERT_LEVELS = Object.freeze(['info', 'warning', 'critical'] as const)
export type AlertLevel = typeof ALERT_LEVELS[number]

export interface AlertAck {
  id: string
  /** `socket.data.user.id` of the admin who acknowledged it. */
  by: string
  /** ISO 8601. */
  at: string
}

export interface Alert {
  id: string
  level: AlertLevel
  message: string
  /** ISO 8601, when the server raised it. */
  at: string
  details?: Readonly<Record<string, unknown>>
  /** Set once an admin acknowledged it. */
  acknowledged?: AlertAck
}

/** The events the library sends on the dashboard namespace and their payloads. */
export interface BuiltinDashboardEvents {
  [DASHBOARD_EVENTS.alert]: Alert
  [DASHBOARD_EVENTS.alerts]: Alert[]
  [DASHBOARD_EVENTS.acked]: AlertAck
}

/** The events a dashboard client sends the library. */
export interface BuiltinClientEvents {
  [DASHBOARD_EVENTS.ack]: { id: string }
}

/** Server → client events as a Socket.IO event map: each event takes one typed payload. */
export type DashboardEventMap = { [E in keyof DashboardEvents]: (payload: DashboardEvents[E]) => void } &
{ [E in keyof BuiltinDashboardEvents]: (payload: BuiltinDashboardEvents[E]) => void }
/** Client → server events as a Socket.IO event map. */
export type ClientEventMap = { [E in keyof ClientEvents]: (payload: ClientEvents[E]) => void } &
{ [E in keyof BuiltinClientEvents]: (payload: BuiltinClientEvents[E]) => void }
