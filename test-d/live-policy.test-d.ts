import Fastify from 'fastify'
import { Registry } from 'prom-client'
import { expectAssignable, expectError, expectType } from 'tsd'
import {
  corsPolicy, ORIGIN_REVOKED, SERVER_EVENTS,
  type AllowlistChange, type OriginPolicyStats, type OriginRevokedPayload, type RefusalMode, type SocketOutcome
} from 'fastify-cors-io'

const app = Fastify()

// The runtime options are typed; report-only is a refusal mode of the plugin, not of a route.
app.register(corsPolicy, { origins: ['https://app.example.com'], refusal: 'report-only', statsOrigins: 50, metrics: { registry: new Registry() } })
app.register(corsPolicy, { originsFile: '/etc/app/origins', watchOriginsFile: false })
expectError(app.register(corsPolicy, { statsOrigins: '50' }))
expectError(app.register(corsPolicy, { metrics: { registry: {} } }))
expectError(app.register(corsPolicy, { watchOriginsFile: 'yes' }))
expectError(app.post('/oauth/callback', { config: { corsRefusal: 'report-only' } }, async () => 'ok'))

// update() takes the policy's options only, and returns the diff.
expectType<AllowlistChange>(app.originPolicy.update({ origins: ['https://a.example'], refusal: 'block' }))
expectType<readonly string[]>(app.originPolicy.update({ credentials: false }).added)
expectError(app.originPolicy.update({ metrics: { registry: new Registry() } }))
expectError(app.originPolicy.update({ statsOrigins: 5 }))
expectError(app.originPolicy.update({ refusal: 'nope' }))

// stats() is typed to the counters.
const stats = app.originPolicy.stats()
expectType<OriginPolicyStats>(stats)
expectType<RefusalMode>(stats.mode)
expectType<number | null>(stats.connectionSuccessRate)
expectType<number>(stats.sockets['refused-origin'])
expectType<number>(stats.totals.allowed.websocket)
expectError(stats.totals.allowed.ftp)
expectError(stats.sockets.nope)
expectAssignable<SocketOutcome>('recovered')
expectError(app.originPolicy.countSocket('nope'))

// The revocation event a client listens for.
expectType<'fastify-cors-io:origin-revoked'>(SERVER_EVENTS.originRevoked)
expectType<'ORIGIN_REVOKED'>(ORIGIN_REVOKED)
expectAssignable<OriginRevokedPayload>({ code: 'ORIGIN_REVOKED', message: 'gone' })
expectError<OriginRevokedPayload>({ code: 'ORIGIN_REFUSED', message: 'gone' })
