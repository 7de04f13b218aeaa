// The CORS-only entry point, `fastify-cors-io/cors`: everything an app needs for HTTP CORS and
// nothing that loads socket.io or engine.io (test/entry-points.test.ts proves it).
export { corsPolicy } from './plugins/cors.js'
export { createOriginPolicy, OriginPolicy, appendVary } from './lib/origin-policy.js'
export type { CorsAnswer, CorsVerdict, HeaderMap } from './lib/origin-policy.js'
export { parseAllowlist } from './lib/allowlist.js'
export type { Allowlist, AllowlistEntry } from './lib/allowlist.js'
export { describeDecision, MAX_ORIGIN_LENGTH } from './lib/origin-matcher.js'
export type { OriginDecision, OriginAllowed, OriginRefused, AllowReason, RefusalReason } from './lib/origin-matcher.js'
export type { CorsPolicyOptions, RefusalMode } from './lib/config.js'
export type { OriginsCacheOptions, OriginsFunction, ResolverStats } from './lib/origin-resolver.js'
export { CorsConfigError } from './lib/errors.js'
