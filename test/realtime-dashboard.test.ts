import t from 'tap'
import type { DashboardEvents } from '../index.js'
import { ALLOWED, client, collect, connected, dropTransport, sentinel, startApp, until, waitFor, type ClientOptions } from './helpers/realtime.js'

declare module '../index.js' {
  interface DashboardEvents {
    'test:tick': { n: number }
    'test:note': string
    'test:sentinel': string
  }
}

const admin = (extra: ClientOptions = {}): ClientOptions => ({ extraHeaders: { origin: ALLOWED }, auth: { token: 'admin-token' }, ...extra })

t.test('broadcast reaches every dashboard client and no client of other namespaces', async (t) => {
  const { origin, app } = await startApp(t)
  const a = await connected(client(t, `${origin}/admin`, admin({ transports: ['websocket'] })))
  const b = await connected(client(t, `${origin}/admin`, admin({ transports: ['polling'] })))
  const main = await connected(client(t, origin, admin()))
  const [gotA, gotB, gotMain] = [collect(a, 'test:tick'), collect(b, 'test:tick'), collect(main, 'test:tick')]
  const sentinels = Promise.all([a, b, main].map(sentinel))
  app.dashboard.broadcast('test:tick', { n: 1 })
  app.dashboard.broadcast('test:sentinel', 'end')
  app.io.of('/').emit('test:sentinel', 'end')
  await sentinels
  t.same(gotA, [{ n: 1 }])
  t.same(gotB, [{ n: 1 }])
  t.same(gotMain, [], 'the main namespace gets nothing')
  t.equal(app.dashboard.namespace.name, '/admin')
})

t.test('toUser reaches only that user\'s dashboard clients; toRoom only the room', async (t) => {
  const { origin, app } = await startApp(t, {
    realtime: { isAdmin: () => true },
    after: (app) => { app.dashboard.namespace.on('connection', (socket) => { if (socket.handshake.auth.room === 'ops') socket.join('ops') as unknown }) }
  })
  const adminSocket = await connected(client(t, `${origin}/admin`, admin({ auth: { token: 'admin-token', room: 'ops' } })))
  const adminSecond = await connected(client(t, `${origin}/admin`, admin({ transports: ['websocket'] })))
  const userSocket = await connected(client(t, `${origin}/admin`, admin({ auth: { token: 'user-token' } })))
  const sockets = [adminSocket, adminSecond, userSocket]
  const notes = sockets.map((socket) => collect<string>(socket, 'test:note'))
  const sentinels = Promise.all(sockets.map(sentinel))
  app.dashboard.toUser('u-admin').emit('test:note', 'to admin')
  app.dashboard.toRoom('ops').emit('test:note', 'to ops')
  app.dashboard.toUser('u-user').emit('test:note', 'to user')
  app.dashboard.broadcast('test:sentinel', 'end')
  await sentinels
  t.same(notes[0], ['to admin', 'to ops'])
  t.same(notes[1], ['to admin'], 'every client of the user')
  t.same(notes[2], ['to user'])
})

t.test('a custom dashboard namespace', async (t) => {
  const { origin, app } = await startApp(t, { realtime: { dashboardNamespace: '/ops' } })
  const socket = await connected(client(t, `${origin}/ops`, admin()))
  const got = collect(socket, 'test:tick')
  const ended = sentinel(socket)
  app.dashboard.broadcast('test:tick', { n: 7 })
  app.dashboard.broadcast('test:sentinel', 'end')
  await ended
  t.same(got, [{ n: 7 }])
  t.equal(app.dashboard.namespace.name, '/ops')
})

t.test('no dashboard event is lost to a short disconnect: recovery delivers the missed ones in order', async (t) => {
  const { origin, app } = await startApp(t)
  const socket = client(t, `${origin}/admin`, admin({ transports: ['websocket'], reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 }))
  await connected(socket)
  t.equal(socket.recovered, false)
  const received = collect<DashboardEvents['test:tick']>(socket, 'test:tick')
  const reasons: string[] = []
  let atDisconnect = -1
  socket.on('disconnect', (reason) => { reasons.push(reason); atDisconnect = received.length })

  const total = 60
  const send = (from: number, to: number): void => { for (let n = from; n <= to; n++) app.dashboard.broadcast('test:tick', { n }) }
  send(1, 20)
  await until(() => received.length === 20, undefined, 'the first 20')
  const reconnected = waitFor(socket.io, 'reconnect', { what: 'the client to reconnect' })
  dropTransport(socket)
  await until(() => app.dashboard.namespace.sockets.size === 0, undefined, 'the server to notice')
  send(21, 40) // while the client is away: synchronously, before it can reconnect
  await reconnected
  const ended = sentinel(socket)
  send(41, total)
  app.dashboard.broadcast('test:sentinel', 'end')
  await ended
  t.same(reasons, ['transport close'])
  t.equal(atDisconnect, 20, '21–40 were sent after the drop, so recovery delivered them')
  t.equal(socket.recovered, true, 'the session was recovered')
  t.same(received.map((payload) => payload.n), Array.from({ length: total }, (_, i) => i + 1), 'every event, once, in order')
})

t.test('with recoveryWindowMs: 0 the events sent while disconnected are lost (the test above can fail)', async (t) => {
  const { origin, app } = await startApp(t, { realtime: { recoveryWindowMs: 0 } })
  const socket = client(t, `${origin}/admin`, admin({ transports: ['websocket'], reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 50 }))
  await connected(socket)
  const received = collect<DashboardEvents['test:tick']>(socket, 'test:tick')
  app.dashboard.broadcast('test:tick', { n: 1 })
  await until(() => received.length === 1, undefined, 'the first')
  const reconnected = waitFor(socket.io, 'reconnect', { what: 'the client to reconnect' })
  dropTransport(socket)
  await until(() => app.dashboard.namespace.sockets.size === 0, undefined, 'the server to notice')
  app.dashboard.broadcast('test:tick', { n: 2 })
  await reconnected
  await until(() => app.dashboard.namespace.sockets.size === 1, undefined, 'reconnected on the server')
  const ended = sentinel(socket)
  app.dashboard.broadcast('test:tick', { n: 3 })
  app.dashboard.broadcast('test:sentinel', 'end')
  await ended
  t.not(socket.recovered, true)
  t.same(received.map((payload) => payload.n), [1, 3])
})
