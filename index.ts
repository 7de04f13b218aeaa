export { corsPolicy } from './plugins/cors.js'
export { createOriginPolicy, OriginPolicy, appendVary } from './lib/origin-policy.js'
export type { CorsAnswer, CorsVerdict, HeaderMap } from './lib/origin-policy.js'
export { parseAllowlist } from './lib/allowlist.js'
export type { Allowlist, AllowlistEntry } from './lib/allowlist.js'
export { describeDecision, MAX_ORIGIN_LENGTH } from './lib/origin-matcher.js'
export type { OriginDecision, OriginAllowed, OriginRefused, AllowReason, RefusalReason } from './lib/origin-matcher.js'
export type { CorsPolicyOptions, RefusalMode } from './lib/config.js'
export { CorsConfigError } from './lib/errors.js'
export { realtime } from './plugins/realtime.js'
export { CONNECT_ERRORS, GATE_CODES, ORIGIN_REFUSED } from './lib/protocol.js'
export type { ConnectErrorCode, GateCode } from './lib/protocol.js'
export type {
  ClientEvents, Dashboard, DashboardEvents, DashboardTarget, RealtimeOptions, RealtimeServer, RealtimeNamespace,
  RealtimeSocket, SocketData, SocketHandshake, SocketUser
} from './plugins/realtime-types.js'
