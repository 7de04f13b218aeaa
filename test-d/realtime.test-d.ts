import Fastify from 'fastify'
import { expectError, expectType } from 'tsd'
import { corsPolicy, realtime, type RealtimeServer, type SocketUser } from 'fastify-cors-io'

// A consumer declares its dashboard events and its user by augmenting the package itself.
declare module 'fastify-cors-io' {
  interface DashboardEvents {
    'tsd:metrics': { rss: number }
  }
  interface SocketUser {
    tsdRole: 'admin' | 'user'
  }
  interface ServerEvents {
    'tsd:cache-clear': { key: string }
  }
}

const app = Fastify()
app.register(corsPolicy, { origins: ['https://app.example'] })
app.register(realtime, {
  authenticate: (handshake) => handshake.signedCookies.session === undefined ? undefined : { id: handshake.signedCookies.session, tsdRole: 'user' as const },
  isAdmin: (user) => user.tsdRole === 'admin'
})

expectType<RealtimeServer>(app.io)
app.dashboard.broadcast('tsd:metrics', { rss: 1 })
app.dashboard.toUser('u1').emit('tsd:metrics', { rss: 1 })
app.dashboard.toRoom('ops').emit('tsd:metrics', { rss: 1 })
expectError(app.dashboard.broadcast('tsd:unknown', { rss: 1 }))
expectError(app.dashboard.broadcast('tsd:metrics', { rss: '1' }))
expectError(app.dashboard.toUser('u1').emit('tsd:metrics', {}))
expectError(app.io.emit('tsd:unknown', 1))
expectError(app.io.of('/admin').emit('tsd:metrics', 'not an object'))
app.io.on('connection', (socket) => {
  expectType<SocketUser>(socket.data.user)
  expectType<'admin' | 'user'>(socket.data.user.tsdRole)
})

// Options the plugin owns do not compile.
expectError(app.register(realtime, { authenticate: () => undefined, isAdmin: () => true, cors: { origin: '*' } }))
expectError(app.register(realtime, { authenticate: () => undefined, isAdmin: () => true, allowRequest: () => {} }))
expectError(app.register(realtime, { authenticate: () => undefined, isAdmin: () => true, destroyUpgrade: false }))
// authenticate and isAdmin are required.
expectError(app.register(realtime, { isAdmin: () => true }))

// The hardening options are typed.
app.register(realtime, { authenticate: () => undefined, isAdmin: () => true, allowAnyOrigin: true, maxNamespacesPerConnection: 3, cleanupEmptyChildNamespaces: false })
expectError(app.register(realtime, { authenticate: () => undefined, isAdmin: () => true, allowAnyOrigin: 'yes' }))
expectError(app.register(realtime, { authenticate: () => undefined, isAdmin: () => true, maxNamespacesPerConnection: '5' }))
expectError(app.register(realtime, { authenticate: () => undefined, isAdmin: () => true, cleanupEmptyChildNamespaces: 1 }))
// A misspelled option does not compile either (and is refused at run time with the closest name).
expectError(app.register(realtime, { authenticate: () => undefined, isAdmin: () => true, requireOrign: true }))
// authenticate returns a user or nothing: `false` does not compile (and refuses at run time).
expectError(app.register(realtime, { authenticate: () => false, isAdmin: () => true }))

// Events between nodes are typed by ServerEvents, both ways.
app.io.serverSideEmit('tsd:cache-clear', { key: 'k' })
expectError(app.io.serverSideEmit('tsd:unknown', { key: 'k' }))
expectError(app.io.serverSideEmit('tsd:cache-clear', { key: 1 }))
app.io.on('tsd:cache-clear', (payload) => { expectType<{ key: string }>(payload) })
// The scale-out API is typed.
expectType<'ok' | 'degraded'>(app.realtimeHealth().status)
app.dashboard.presence().then(({ users, scope }) => {
  expectType<'cluster' | 'node'>(scope)
  expectType<'admin' | 'user'>(users[0]!.user.tsdRole)
})
expectError(app.register(realtime, { authenticate: () => undefined, isAdmin: () => true, adapterReady: true }))
expectError(app.register(realtime, { authenticate: () => undefined, isAdmin: () => true, presenceTimeoutMs: '1000' }))
// Topics are DashboardEvents: a wrong topic or value does not compile.
app.dashboard.publish('tsd:metrics', { rss: 1 })
expectError(app.dashboard.publish('tsd:unknown', { rss: 1 }))
expectError(app.dashboard.publish('tsd:metrics', { rss: '1' }))
// Alerts: a level of the list, a message.
expectType<string>(app.dashboard.alert({ level: 'warning', message: 'disk' }).id)
expectError(app.dashboard.alert({ level: 'panic', message: 'disk' }))
expectError(app.dashboard.alert({ level: 'info' }))
// Per-topic rates name topics of DashboardEvents only.
app.register(realtime, { authenticate: () => undefined, isAdmin: () => true, topicRateHz: 5, topicRates: { 'tsd:metrics': 1 }, maxTopics: 10, alertBacklog: 0 })
expectError(app.register(realtime, { authenticate: () => undefined, isAdmin: () => true, topicRates: { 'tsd:unknown': 1 } }))
expectError(app.register(realtime, { authenticate: () => undefined, isAdmin: () => true, topicRateHz: '10' }))
// The built-in acknowledgement event is typed on the server's sockets.
app.dashboard.namespace.on('connection', (socket) => {
  socket.on('dashboard:ack', (payload) => { expectType<string>(payload.id) })
  expectError(socket.emit('dashboard:acked', { id: 'a' }))
})
