import t from 'tap'
import { createRequire } from 'node:module'
import type { Socket as ClientSocket } from 'socket.io-client'
import { MemoryCluster } from './helpers/memory-cluster.js'
import { ALLOWED, client, connected, registrationError, startApp, waitFor, within, type RealtimeApp, type TestLike } from './helpers/realtime.js'
import type { RealtimeOptions, RealtimeSocket } from '../index.js'

// In-process nodes on an in-memory bus (test/helpers/memory-cluster.ts); test/cluster.test.ts runs the
// same semantics as separate processes on a real Redis behind a real nginx.

const { Adapter, ClusterAdapter } = createRequire(createRequire(import.meta.url).resolve('socket.io'))('socket.io-adapter') as typeof import('socket.io-adapter')

declare module '../index.js' {
  interface DashboardEvents {
    'bus:event': { n: number }
    'bus:sentinel': { n: number }
  }
}

async function node (t: TestLike, cluster: MemoryCluster, name: string, realtime: Partial<RealtimeOptions> = {}): Promise<RealtimeApp> {
  return await startApp(t, { realtime: { adapter: cluster.adapter(name), adapterReady: () => cluster.up, ...realtime } })
}

function dashboardClient (t: TestLike, app: RealtimeApp, token = 'admin-token'): ClientSocket {
  return client(t, app.url('/admin'), { auth: { token }, extraHeaders: { origin: ALLOWED } })
}

/** Collects the `cluster:event` numbers a client gets. */
/** Nodes a and b on `cluster`, a dashboard connected to each, and what each receives of `bus:event`. */
async function twoNodes (t: TestLike, cluster: MemoryCluster): Promise<{ a: RealtimeApp, onA: ClientSocket, onB: ClientSocket, gotA: number[], gotB: number[] }> {
  const [a, b] = [await node(t, cluster, 'a'), await node(t, cluster, 'b')]
  const onA = await connected(dashboardClient(t, a))
  const onB = await connected(dashboardClient(t, b))
  return { a, onA, onB, gotA: received(onA), gotB: received(onB) }
}

function received (socket: ClientSocket): number[] {
  const got: number[] = []
  socket.on('bus:event', ({ n }: { n: number }) => { got.push(n) })
  return got
}

/** The next `cluster:sentinel`: sent after the events under test, on the same path, so they came first if at all. */
async function sentinel (socket: ClientSocket, what: string): Promise<void> {
  await waitFor(socket, 'bus:sentinel', { what })
}

t.test('a broadcast from one node reaches the dashboards of every node exactly once', async (t) => {
  const cluster = new MemoryCluster()
  const { a, onA, onB, gotA, gotB } = await twoNodes(t, cluster)
  const sentinels = Promise.all([sentinel(onA, 'the sentinel on A'), sentinel(onB, 'the sentinel on B')])
  a.app.dashboard.broadcast('bus:event', { n: 1 })
  a.app.dashboard.toUser('u-admin').emit('bus:event', { n: 2 })
  a.app.dashboard.broadcast('bus:sentinel', { n: 1 })
  await sentinels
  t.same(gotA, [1, 2], 'A: each broadcast once')
  t.same(gotB, [1, 2], 'B: each broadcast once, in order')
  t.same(a.app.realtimeHealth(), { status: 'ok', adapter: 'connected' })
})

t.test('while the adapter is disconnected a node serves its own clients at once, queues nothing, logs once, and resumes', async (t) => {
  const cluster = new MemoryCluster()
  const { a, onA, onB, gotA, gotB } = await twoNodes(t, cluster)

  cluster.up = false
  const sentinelOnA = sentinel(onA, 'the sentinel on A during the outage')
  for (let n = 1; n <= 200; n++) a.app.dashboard.broadcast('bus:event', { n })
  a.app.dashboard.broadcast('bus:sentinel', { n: 1 })
  await sentinelOnA
  t.equal(gotA.length, 200, 'A got every broadcast of the outage, without waiting for the bus')
  t.equal(cluster.pending, 0, 'nothing waits for the bus: memory does not grow with the outage')
  const health = a.app.realtimeHealth()
  t.equal(health.status, 'degraded')
  t.equal(health.adapter, 'disconnected')
  t.match(health.disconnectedSince, /^\d{4}-\d\d-\d\dT/)
  const outageLines = a.logs.filter((line) => line.msg.startsWith('realtime adapter disconnected'))
  t.equal(outageLines.length, 1, 'one line for the outage, not one per emit')
  t.equal(outageLines[0]!.level, 50)

  cluster.up = true
  const sentinelOnB = sentinel(onB, 'the sentinel on B after the outage')
  a.app.dashboard.broadcast('bus:event', { n: 201 })
  a.app.dashboard.broadcast('bus:sentinel', { n: 2 })
  await sentinelOnB
  t.same(gotB, [201], 'B got none of the outage (delivered on A only) and the first broadcast after it')
  t.same(a.app.realtimeHealth(), { status: 'ok', adapter: 'connected' })
  t.equal(a.logs.filter((line) => line.msg.startsWith('realtime adapter connected again')).length, 1)
})

t.test('one node\'s close disconnects its own clients only', async (t) => {
  const cluster = new MemoryCluster()
  const a = await startApp(t, { closeOnTeardown: false, realtime: { adapter: cluster.adapter('a'), adapterReady: () => cluster.up } })
  const b = await node(t, cluster, 'b')
  const onA = await connected(dashboardClient(t, a))
  const onB = await connected(dashboardClient(t, b))
  let disconnectedB = false
  onB.on('disconnect', () => { disconnectedB = true })
  const goneA = waitFor(onA, 'disconnect', { what: 'A\'s client to be disconnected by A\'s close' })
  await a.app.close()
  await goneA
  const gotB = received(onB)
  const sentinelOnB = sentinel(onB, 'a broadcast from B after A closed')
  b.app.dashboard.broadcast('bus:event', { n: 1 })
  b.app.dashboard.broadcast('bus:sentinel', { n: 1 })
  await sentinelOnB
  t.equal(disconnectedB, false, 'B\'s client was not disconnected')
  t.ok(onB.connected)
  t.same(gotB, [1])
})

t.test('presence lists the dashboards of every node, or of this node with a log line when another does not answer', async (t) => {
  const cluster = new MemoryCluster()
  const [a, b] = [await node(t, cluster, 'a', { presenceTimeoutMs: 300 }), await node(t, cluster, 'b')]
  await connected(dashboardClient(t, a))
  await connected(dashboardClient(t, b))
  await connected(dashboardClient(t, b))
  t.same(await a.app.dashboard.presence(), { users: [{ user: { id: 'u-admin', name: 'Ada', role: 'admin' }, sockets: 3 }], scope: 'cluster' })

  cluster.deaf.add('b')
  t.same(await a.app.dashboard.presence(), { users: [{ user: { id: 'u-admin', name: 'Ada', role: 'admin' }, sockets: 1 }], scope: 'node' })
  t.equal(a.logs.filter((line) => line.msg.startsWith('dashboard presence: another node did not answer')).length, 1)
  cluster.deaf.clear()

  cluster.up = false
  t.same(await b.app.dashboard.presence(), { users: [{ user: { id: 'u-admin', name: 'Ada', role: 'admin' }, sockets: 2 }], scope: 'node' }, 'disconnected: this node only, at once')
  cluster.up = true
})

t.test('a node whose own link is down answers no other node: presence elsewhere falls back to that node\'s sockets', async (t) => {
  const cluster = new MemoryCluster()
  let bReady = true
  const a = await node(t, cluster, 'a', { presenceTimeoutMs: 300 })
  const b = await startApp(t, { realtime: { adapter: cluster.adapter('b'), adapterReady: () => bReady } })
  await connected(dashboardClient(t, a))
  await connected(dashboardClient(t, b))
  bReady = false // B still hears the bus, but sends nothing on it, answers included
  t.match(await a.app.dashboard.presence(), { scope: 'node', users: [{ sockets: 1 }] })
  t.equal(b.app.realtimeHealth().status, 'degraded')
})

t.test('presence without an adapter is this single node, the whole cluster', async (t) => {
  const app = await startApp(t)
  await connected(dashboardClient(t, app))
  t.same(await app.app.dashboard.presence(), { users: [{ user: { id: 'u-admin', name: 'Ada', role: 'admin' }, sockets: 1 }], scope: 'cluster' })
  t.same(app.app.realtimeHealth(), { status: 'ok', adapter: 'in-memory' })
})

t.test('sessions are stored and restored across nodes while connected, neither while disconnected', async (t) => {
  const cluster = new MemoryCluster()
  const [a, b] = [await node(t, cluster, 'a'), await node(t, cluster, 'b')]
  const restoredOn = async (target: RealtimeApp, token: string): Promise<{ recovered: boolean, sessionKept: boolean }> => {
    const first = await connected(dashboardClient(t, a))
    const pid = (first as unknown as { _pid: string })._pid
    const [socket] = [...a.app.dashboard.namespace.sockets.values()].slice(-1)
    const dropped = waitFor(first, 'disconnect', { what: 'the client to see its transport close' })
    socket!.conn.close() // a transport close: recoverable, so socket.io persists the session
    await dropped
    first.disconnect()
    const sessionKept = cluster.hasSession(pid)
    const arrived = waitFor<RealtimeSocket>(target.app.dashboard.namespace, 'connection', { what: 'the socket on the other node' })
    await connected(client(t, target.url('/admin'), { auth: { token, pid, offset: '1-0' }, extraHeaders: { origin: ALLOWED } }))
    return { recovered: (await arrived).recovered, sessionKept }
  }
  t.same(await restoredOn(b, 'admin-token'), { recovered: true, sessionKept: true }, 'restored on the other node')
  cluster.up = false
  t.same(await restoredOn(b, 'admin-token'), { recovered: false, sessionKept: false }, 'disconnected: not stored, and a fresh socket')
  cluster.up = true
})

/** Polls `check` every 20 ms until it holds; bounded. */
async function eventually (what: string, check: () => boolean): Promise<void> {
  await within((async () => { while (!check()) await new Promise((resolve) => setTimeout(resolve, 20)) })(), what)
}

t.test('with recovery, a session is stored when its socket connects and every half window, for a node that dies without closing', async (t) => {
  const cluster = new MemoryCluster()
  const a = await node(t, cluster, 'a', { recoveryWindowMs: 400 })
  const socket = await connected(dashboardClient(t, a))
  const pid = (socket as unknown as { _pid: string })._pid
  await eventually('the session to be stored at connection', () => cluster.hasSession(pid))
  t.same(cluster.session(pid)!.rooms.sort(), [socket.id, 'user:u-admin'].sort(), 'with the rooms joined by the connection listeners')
  cluster.forget(pid)
  await eventually('the session to be stored again within half a window', () => cluster.hasSession(pid))

  // A never closed the socket (as if killed): B restores the session all the same.
  const b = await node(t, cluster, 'b')
  const arrived = waitFor<RealtimeSocket>(b.app.dashboard.namespace, 'connection', { what: 'the socket on B' })
  await connected(client(t, b.url('/admin'), { auth: { token: 'admin-token', pid, offset: '1-0' }, extraHeaders: { origin: ALLOWED } }))
  t.equal((await arrived).recovered, true)
})

t.test('a socket the host disconnects in its connection listener leaves no session behind', async (t) => {
  const cluster = new MemoryCluster()
  const a = await startApp(t, {
    realtime: { adapter: cluster.adapter('a'), adapterReady: () => cluster.up },
    after: (app) => { app.dashboard.namespace.on('connection', (socket) => { socket.disconnect() }) }
  })
  const socket = dashboardClient(t, a)
  const gone = waitFor(socket, 'disconnect', { what: 'the host to disconnect the socket' })
  await connected(socket)
  await gone
  const pid = (socket as unknown as { _pid: string })._pid
  // The store runs in a microtask after the connection listeners, long before the DISCONNECT reaches the client.
  t.equal(cluster.hasSession(pid), false, 'not stored: a session of a socket the host refused would outlive it')
})

t.test('adapterReady at registration', async (t) => {
  t.match(await registrationError({ authenticate: () => undefined, isAdmin: () => true, adapterReady: () => true }),
    { setting: 'adapterReady', message: /none is given/ })
  t.match(await registrationError({ authenticate: () => undefined, isAdmin: () => true, adapter: new MemoryCluster().adapter('a'), adapterReady: true }),
    { setting: 'adapterReady', message: /is not a function/ })
  t.match(await registrationError({ authenticate: () => undefined, isAdmin: () => true, adapter: Adapter, adapterReady: () => true }),
    { setting: 'adapterReady', message: /ClusterAdapter/ })
  t.match(await registrationError({ authenticate: () => undefined, isAdmin: () => true, presenceTimeoutMs: 0 }),
    { setting: 'presenceTimeoutMs' })
})

t.test('with recovery on, an adapter that cannot restore sessions is named at registration', async (t) => {
  // A cluster adapter with socket.io-adapter's no-op persistSession/restoreSession, as the pub/sub
  // @socket.io/redis-adapter has.
  const PubSubLike = class extends ClusterAdapter {
    override doPublish (): Promise<string> { return Promise.resolve('') }
    override doPublishResponse (): Promise<void> { return Promise.resolve() }
    override serverCount (): Promise<number> { return Promise.resolve(1) }
  } as unknown as RealtimeOptions['adapter']
  const warned = async (realtime: Partial<RealtimeOptions>): Promise<boolean> => {
    const app = await startApp(t, { realtime })
    return app.logs.some((line) => line.level === 40 && /cannot restore sessions.*@socket\.io\/redis-streams-adapter/.test(line.msg))
  }
  t.equal(await warned({ adapter: PubSubLike }), true, 'recovery on, no restore: warned')
  t.equal(await warned({ adapter: PubSubLike, adapterReady: () => true }), true, 'watched by adapterReady: still warned')
  t.equal(await warned({ adapter: PubSubLike, recoveryWindowMs: 0 }), false, 'recovery off: nothing to warn about')
  t.equal(await warned({ adapter: new MemoryCluster().adapter('a') }), false, 'an adapter that restores: no warning')
  t.equal(await warned({}), false, 'the built-in recovery adapter: no warning')
})
