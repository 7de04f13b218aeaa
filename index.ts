// The combined entry point: the CORS plugin (also alone at `fastify-cors-io/cors`) and `realtime`.
export * from './cors.js'
export { realtime } from './plugins/realtime.js'
export { ALERT_LEVELS, CONNECT_ERRORS, DASHBOARD_EVENTS, GATE_CODES, ORIGIN_REFUSED, ORIGIN_REVOKED, SERVER_EVENTS } from './lib/protocol.js'
export type { ConnectErrorCode, GateCode, OriginRevokedPayload } from './lib/protocol.js'
export type {
  Alert, AlertAck, AlertInput, AlertLevel, ClientEvents, Dashboard, DashboardEvents, DashboardPresence, DashboardTarget, RealtimeHealth, RealtimeOptions,
  RealtimeServer, RealtimeNamespace, RealtimeSocket, ServerEvents, SocketData, SocketHandshake, SocketUser
} from './plugins/realtime-types.js'
