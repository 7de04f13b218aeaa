import t from 'tap'
import type { DashboardEvents } from '../index.js'
import type { Socket as ClientSocket } from 'socket.io-client'
import { ALLOWED, client, connected, dropTransport, sleep, startApp, until, type ClientOptions } from './helpers/realtime.js'

declare module '../index.js' {
  interface DashboardEvents {
    'test:tick': { n: number }
    'test:note': string
  }
}

const admin = (extra: ClientOptions = {}): ClientOptions => ({ extraHeaders: { origin: ALLOWED }, auth: { token: 'admin-token' }, ...extra })

/** Collects the payloads of one event on a client socket. */
function collect<T> (socket: ClientSocket, event: string): T[] {
  const received: T[] = []
  socket.on(event, (payload: T) => { received.push(payload) })
  return received
}

t.test('broadcast reaches every dashboard client and no client of other namespaces', async (t) => {
  const { origin, app } = await startApp(t)
  const a = await connected(client(t, `${origin}/admin`, admin({ transports: ['websocket'] })))
  const b = await connected(client(t, `${origin}/admin`, admin({ transports: ['polling'] })))
  const main = await connected(client(t, origin, admin()))
  const [gotA, gotB, gotMain] = [collect(a, 'test:tick'), collect(b, 'test:tick'), collect(main, 'test:tick')]
  app.dashboard.broadcast('test:tick', { n: 1 })
  await until(() => gotA.length === 1 && gotB.length === 1, 2000, 'broadcast')
  await sleep(50)
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
  const notes = [adminSocket, adminSecond, userSocket].map((socket) => collect<string>(socket, 'test:note'))
  app.dashboard.toUser('u-admin').emit('test:note', 'to admin')
  app.dashboard.toRoom('ops').emit('test:note', 'to ops')
  app.dashboard.toUser('u-user').emit('test:note', 'to user')
  await until(() => notes[0]!.length === 2 && notes[1]!.length === 1 && notes[2]!.length === 1, 2000, 'targeted events')
  await sleep(50)
  t.same(notes[0], ['to admin', 'to ops'])
  t.same(notes[1], ['to admin'], 'every client of the user')
  t.same(notes[2], ['to user'])
})

t.test('a custom dashboard namespace', async (t) => {
  const { origin, app } = await startApp(t, { realtime: { dashboardNamespace: '/ops' } })
  const socket = await connected(client(t, `${origin}/ops`, admin()))
  const got = collect(socket, 'test:tick')
  app.dashboard.broadcast('test:tick', { n: 7 })
  await until(() => got.length === 1, 2000, 'broadcast')
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
  let reconnected = false
  socket.io.on('reconnect', () => { reconnected = true })

  const total = 60
  const send = (from: number, to: number): void => { for (let n = from; n <= to; n++) app.dashboard.broadcast('test:tick', { n }) }
  send(1, 20)
  await until(() => received.length === 20, 2000, 'the first 20')
  dropTransport(socket)
  await until(() => app.dashboard.namespace.sockets.size === 0, 2000, 'the server to notice')
  send(21, 40) // while the client is away: synchronously, before it can reconnect
  await until(() => reconnected, 5000, 'reconnect')
  send(41, total)
  await until(() => received.length >= total, 5000, 'recovery')
  await sleep(50)
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
  await until(() => received.length === 1, 2000, 'the first')
  dropTransport(socket)
  await until(() => app.dashboard.namespace.sockets.size === 0, 2000, 'the server to notice')
  app.dashboard.broadcast('test:tick', { n: 2 })
  await new Promise((resolve) => socket.io.once('reconnect', resolve))
  await until(() => app.dashboard.namespace.sockets.size === 1, 2000, 'reconnected on the server')
  app.dashboard.broadcast('test:tick', { n: 3 })
  await until(() => received.length === 2, 2000, 'the third')
  t.not(socket.recovered, true)
  t.same(received.map((payload) => payload.n), [1, 3])
})
