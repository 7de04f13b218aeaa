import Fastify, { type FastifyContextConfig } from 'fastify'
import { expectAssignable, expectError, expectNotAssignable, expectType } from 'tsd'
import {
  CONNECT_ERRORS, corsPolicy, createOriginPolicy, CorsConfigError, GATE_CODES, LiveOriginPolicy, MAX_ORIGIN_LENGTH, ORIGIN_REFUSED, OriginPolicy,
  type ConnectErrorCode, type GateCode,
  type AllowReason, type CorsPolicyOptions, type CorsVerdict, type OriginDecision, type RefusalMode, type RefusalReason,
  type OriginsCacheOptions, type OriginsFunction, type ResolverStats
} from 'fastify-cors-io'
import type { IncomingMessage } from 'node:http'

const app = Fastify()

// The plugin accepts its options, and decorates the instance with the compiled policy.
app.register(corsPolicy, { origins: ['https://app.example.com', 'https://*.example.com', /https:\/\/pr-\d+\.example\.dev/] })
app.register(corsPolicy, { origins: 'https://a.example, https://b.example', credentials: true, maxAge: 600, refusal: 'omit-headers' })
app.register(corsPolicy)
expectType<LiveOriginPolicy>(app.originPolicy)
expectType<OriginPolicy>(app.originPolicy.current)

// Wrong option types do not compile.
expectError(app.register(corsPolicy, { credentials: 'yes' }))
expectError(app.register(corsPolicy, { maxAge: '600' }))
expectError(app.register(corsPolicy, { refusal: 'nope' }))
expectError(app.register(corsPolicy, { origins: 42 }))
expectError(app.register(corsPolicy, { privateNetwork: 1 }))
expectError(app.register(corsPolicy, { methods: [1, 2] }))
expectError(app.register(corsPolicy, { origin: ['https://app.example.com'] }))

// The per-route opt-out is typed route config.
app.post('/oauth/callback', { config: { corsRefusal: 'omit-headers' } }, async () => 'ok')
expectError(app.post('/oauth/callback', { config: { corsRefusal: 'off' } }, async () => 'ok'))

// config.cors: false, or overrides of the per-route options only.
app.delete('/internal', { config: { cors: false } }, async () => 'ok')
app.put('/admin', { config: { cors: { origins: ['https://admin.example.com'], credentials: true, methods: ['PUT'], refusal: 'block' } } }, async () => 'ok')
// (Checked on the config type itself: a route shorthand infers its own config type from the literal.)
expectAssignable<FastifyContextConfig>({ cors: false, corsRefusal: 'block' })
expectNotAssignable<FastifyContextConfig>({ cors: true })
expectNotAssignable<FastifyContextConfig>({ cors: { origin: '*' } })
expectNotAssignable<FastifyContextConfig>({ cors: { decisionCacheSize: 5 } })

// A decision narrows on `allowed`.
const decision = app.originPolicy.decide('https://app.example.com')
expectType<OriginDecision>(decision)
if (decision.allowed) {
  expectType<AllowReason>(decision.reason)
  expectType<string>(decision.entry)
} else {
  expectType<RefusalReason>(decision.reason)
  expectType<string | undefined>(decision.entry)
}
expectType<OriginDecision>(app.originPolicy.decide(undefined))

// The policy can be built without Fastify, e.g. for the realtime plugin or tooling.
const standalone = createOriginPolicy({ origins: ['https://app.example.com'] }, { CORS_MAX_AGE: '300' })
expectType<OriginPolicy>(standalone)
expectType<CorsVerdict>(standalone.verdict('GET', { origin: 'https://app.example.com' }))
expectType<number>(standalone.cacheSize)
expectError(createOriginPolicy({ maxAge: '600' }))

expectAssignable<RefusalMode>('block')
expectAssignable<CorsPolicyOptions>({ origins: '*' })

const error = new CorsConfigError('maxAge', 'is too large', 'use 600')
expectType<'FST_CORS_IO_INVALID_CONFIG'>(error.code)
expectType<string>(error.setting)
expectType<string>(error.fix)

// The protocol tables: literal codes a client can switch on.
expectType<'too-many-namespaces'>(CONNECT_ERRORS.tooManyNamespaces)
expectAssignable<ConnectErrorCode>(CONNECT_ERRORS.unauthorized)
expectType<'SERVER_CLOSING'>(GATE_CODES.closing)
expectAssignable<GateCode>(GATE_CODES.jsonp)
expectError<GateCode>('NOT_A_CODE')
expectType<'ORIGIN_REFUSED'>(ORIGIN_REFUSED)
expectType<number>(MAX_ORIGIN_LENGTH)

// `origins` may be a function of the origin and Node's request, answering a boolean, at once or later.
app.register(corsPolicy, { origins: (origin, request) => origin === 'https://app.example.com' && request.headers.host === 'api.example.com' })
app.register(corsPolicy, { origins: async (origin) => await Promise.resolve(origin.endsWith('.example.com')), credentials: true })
app.register(corsPolicy, { origins: async () => true, originsCache: { ttl: 60_000, negativeTtl: 10_000, failureTtl: 0, max: 1000, timeout: 2000, maxLookupsPerSecond: 20 } })
expectAssignable<OriginsFunction>((origin: string, request: IncomingMessage) => origin.length > 0 && request.headers.host !== undefined)
expectAssignable<OriginsCacheOptions>({ ttl: 1 })
// Not an entry, nor a string, nor a callback-style function; and originsCache has numbers only.
expectError(app.register(corsPolicy, { origins: () => 'https://app.example.com' }))
expectError(app.register(corsPolicy, { origins: async () => await Promise.resolve(['https://app.example.com']) }))
expectError(app.register(corsPolicy, { origins: (origin: string, request: IncomingMessage, callback: (error: Error | null, ok: boolean) => void) => { callback(null, origin !== '' && request !== undefined) } }))
expectError(app.register(corsPolicy, { origins: (origin: number) => origin > 0 }))
expectError(app.register(corsPolicy, { origins: async () => true, originsCache: { ttl: '60s' } }))
expectError(app.register(corsPolicy, { origins: async () => true, originsCache: { tll: 60_000 } }))
// A lookup is the decision or a promise of it; the resolver's counters are numbers.
const looked = app.originPolicy.lookup('https://app.example.com', {} as IncomingMessage)
expectType<OriginDecision | Promise<OriginDecision>>(looked)
expectType<ResolverStats | undefined>(app.originPolicy.current.resolver?.stats)
expectAssignable<AllowReason>('dynamic')
expectAssignable<RefusalReason>('lookup-limited')
expectAssignable<RefusalReason>('lookup-failed')
