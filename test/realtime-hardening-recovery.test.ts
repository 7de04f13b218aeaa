import fastifyCookie from '@fastify/cookie'
import t from 'tap'
import type { Socket as ClientSocket } from 'socket.io-client'
import type { DashboardEvents } from '../index.js'
import {
  ALLOWED, COOKIE_SECRET, client, connected, dropTransport, rawPolling, sessionPair, startApp, until,
  type RealtimeApp, type TestLike
} from './helpers/realtime.js'

declare module '../index.js' {
  interface DashboardEvents {
    'test:tick': { n: number }
  }
}

const EVENT = /^42\/admin,/
const isConnectError = (packet: string): boolean => packet.startsWith('44/admin,')
const isConnect = (packet: string): boolean => packet.startsWith('40/admin,')
const ticks = (packets: readonly string[]): number[] =>
  packets.filter((packet) => EVENT.test(packet)).map((packet) => (JSON.parse(packet.replace(EVENT, '')) as [string, { n: number }])[1].n)

/** Collects the `n` of every `test:tick` a client socket gets. */
function collect (socket: ClientSocket): number[] {
  const received: number[] = []
  socket.on('test:tick', (payload: DashboardEvents['test:tick']) => { received.push(payload.n) })
  return received
}

/**
 * An admin dashboard socket that got tick 1, lost its transport, and missed tick 2 while away:
 * its session waits for recovery, and the test knows the pair it would present.
 */
async function adminAway (t: TestLike, app: RealtimeApp, options: { cookie?: string, auth?: Record<string, unknown> }): Promise<{ socket: ClientSocket, received: number[], pair: { pid: string, offset: string }, sid: string }> {
  const headers: Record<string, string> = { origin: ALLOWED }
  if (options.cookie !== undefined) headers.cookie = options.cookie
  const socket = client(t, `${app.origin}/admin`, { transports: ['websocket'], extraHeaders: headers, auth: options.auth ?? {} })
  await connected(socket)
  const sid = socket.id!
  const received = collect(socket)
  app.app.dashboard.broadcast('test:tick', { n: 1 })
  await until(() => received.length === 1, 2000, 'tick 1')
  const pair = sessionPair(socket)
  dropTransport(socket)
  await until(() => app.app.dashboard.namespace.sockets.size === 0, 2000, 'the server to notice the drop')
  app.app.dashboard.broadcast('test:tick', { n: 2 })
  return { socket, received, pair, sid }
}

t.test('a stranger without cookies presenting the pair gets nothing of the session; the user then recovers it whole', async (t) => {
  const app = await startApp(t, { realtime: { cookiePlugin: { secret: COOKIE_SECRET } } })
  const { socket, received, pair, sid } = await adminAway(t, app, { cookie: `session=${fastifyCookie.sign('admin-token', COOKIE_SECRET)}` })

  const stranger = await rawPolling(app.url())
  await stranger.post([`40/admin,${JSON.stringify(pair)}`])
  // The CONNECT_ERROR is the sentinel: socket.io writes restored packets before any middleware answer.
  const packets = await stranger.pollUntil((got) => got.some(isConnectError), 'the stranger\'s connect_error')
  t.same(ticks(packets), [], 'no missed event went to the stranger')
  t.notOk(packets.some(isConnect), 'the stranger was not connected')
  t.match(packets.find(isConnectError), /"message":"unauthorized"/)
  t.equal(app.counters.namespaces.get('/admin'), 1, 'only the admin\'s first connection')

  // The pair is not consumed by a failed attempt: the user it belongs to still recovers.
  socket.connect()
  await connected(socket)
  await until(() => received.length === 2, 2000, 'the missed tick')
  t.equal(socket.recovered, true)
  t.equal(socket.id, sid, 'the same socket id')
  t.same(received, [1, 2], 'the missed event, once')
})

t.test('an admin demoted while away cannot recover into the dashboard, nor see what it missed', async (t) => {
  const admins = new Set(['u-admin'])
  const app = await startApp(t, { realtime: { isAdmin: (user) => admins.has(user.id) } })
  const { pair } = await adminAway(t, app, { auth: { token: 'admin-token' } })
  admins.delete('u-admin')

  const demoted = await rawPolling(app.url())
  await demoted.post([`40/admin,${JSON.stringify({ token: 'admin-token', ...pair })}`])
  const packets = await demoted.pollUntil((got) => got.some(isConnectError), 'the connect_error')
  t.same(ticks(packets), [], 'no missed event')
  t.match(packets.find(isConnectError), /"message":"forbidden"/)
  t.equal(app.app.dashboard.namespace.sockets.size, 0)
})

t.test('another valid user presenting the pair connects as itself, fresh: no missed event, no room of the session', async (t) => {
  const app = await startApp(t, { realtime: { isAdmin: () => true } })
  const { pair, sid } = await adminAway(t, app, { auth: { token: 'admin-token' } })

  const other = await rawPolling(app.url())
  await other.post([`40/admin,${JSON.stringify({ token: 'user-token', ...pair })}`])
  await other.pollUntil((got) => got.some(isConnect), 'the CONNECT')
  const [socket] = [...app.app.dashboard.namespace.sockets.values()]
  t.equal(socket?.data.user.id, 'u-user')
  t.equal(socket?.recovered, false)
  t.not(socket?.id, sid, 'a new socket id')
  t.notOk(socket?.rooms.has('user:u-admin'), 'not in the admin\'s room')
  // The sentinel: an event sent now must arrive, after anything the session would have replayed.
  app.app.dashboard.broadcast('test:tick', { n: 3 })
  app.app.dashboard.toUser('u-admin').emit('test:tick', { n: 4 })
  app.app.dashboard.toUser('u-user').emit('test:tick', { n: 5 })
  const packets = await other.pollUntil((got) => ticks(got).includes(5), 'the sentinel')
  t.same(ticks(packets), [3, 5], 'neither the missed tick 2 nor the admin\'s tick 4')
})

t.test('a session already recovered and connected is not recovered a second time with the same pair', async (t) => {
  const app = await startApp(t)
  const { socket, pair, sid } = await adminAway(t, app, { auth: { token: 'admin-token' } })
  socket.connect()
  await connected(socket)
  t.equal(socket.recovered, true)

  const replay = await rawPolling(app.url())
  await replay.post([`40/admin,${JSON.stringify({ token: 'admin-token', ...pair })}`])
  await replay.pollUntil((got) => got.some(isConnect), 'the CONNECT')
  t.equal(app.app.dashboard.namespace.sockets.size, 2, 'two sockets')
  t.ok(app.app.dashboard.namespace.sockets.get(sid)?.connected, 'the recovered one keeps its id')
  app.app.dashboard.broadcast('test:tick', { n: 3 })
  const packets = await replay.pollUntil((got) => ticks(got).includes(3), 'the sentinel')
  t.same(ticks(packets), [3], 'the replay got no missed event')
})

t.test('an adapter that fails to restore a session gives the user a fresh socket, as socket.io does', async (t) => {
  const app = await startApp(t)
  const { socket, received } = await adminAway(t, app, { auth: { token: 'admin-token' } })
  app.app.dashboard.namespace.adapter.restoreSession = async () => { throw new Error('session store down') }
  socket.connect()
  await connected(socket)
  t.equal(socket.recovered, false)
  app.app.dashboard.broadcast('test:tick', { n: 3 })
  await until(() => received.includes(3), 2000, 'tick 3')
  t.same(received, [1, 3])
})

t.test('a pair the adapter does not know (expired, or made up) gives a fresh socket', async (t) => {
  const app = await startApp(t)
  const session = await rawPolling(app.url())
  await session.post([`40/admin,${JSON.stringify({ token: 'admin-token', pid: 'made-up', offset: 'made-up' })}`])
  await session.pollUntil((got) => got.some(isConnect), 'the CONNECT')
  const [socket] = [...app.app.dashboard.namespace.sockets.values()]
  t.equal(socket?.recovered, false)
  t.equal(socket?.data.user.id, 'u-admin')
})
