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
