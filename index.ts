// The combined entry point: the CORS plugin (also alone at `fastify-cors-io/cors`) and `realtime`.
export * from './cors.js'
export { realtime } from './plugins/realtime.js'
export { ALERT_LEVELS, CONNECT_ERRORS, DASHBOARD_EVENTS, GATE_CODES, ORIGIN_REFUSED } from './lib/protocol.js'
export type { ConnectErrorCode, GateCode } from './lib/protocol.js'
export type {
  Alert, AlertAck, AlertInput, AlertLevel, ClientEvents, Dashboard, DashboardEvents, DashboardTarget, RealtimeOptions, RealtimeServer, RealtimeNamespace,
  RealtimeSocket, SocketData, SocketHandshake, SocketUser
} from './plugins/realtime-types.js'
