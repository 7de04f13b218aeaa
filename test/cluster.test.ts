import { Agent } from 'node:http'
import t from 'tap'
import type { Socket as ClientSocket } from 'socket.io-client'
import { io } from 'socket.io-client'
import { startExample } from './browser/example-process.js'
import { clusterSkipReason, PROGRAMS, renderNginxConf, startNginx, startNode, startRedis, startSwitchProxy } from './cluster/harness.js'
import { ALLOWED, client, connected, connectError, EVIL, raw, waitFor, within, type ClientOptions, type TestLike } from './helpers/realtime.js'

// Real processes: a redis-server, three nodes (test/fixtures/cluster-node.ts, compiled) on the Redis
// streams adapter, and nginx with the shipped docs/nginx.conf in front of two of them. They are
// shared by the tests below, which run in order; each test sets up its own clients, and the last two
// end nodes, so they come last.

t.test('the CI rule: a missing redis-server or nginx fails on CI and skips loudly elsewhere', async (t) => {
  const missing = [{ name: 'redis-server', path: '/nonexistent/redis-server', debian: 'redis-server' }]
  t.throws(() => clusterSkipReason(missing, { CI: 'true' }), /CI=true but redis-server at \/nonexistent\/redis-server is missing/)
  t.match(clusterSkipReason(missing, {}), /CLUSTER TESTS SKIPPED: .*apt-get install redis-server/)
})

t.test('docs/nginx.conf is rendered with the test\'s ports, or the test says what changed', async (t) => {
  const shipped = 'upstream u {\n    server 127.0.0.1:3001;\n    server 127.0.0.1:3002;\n}\nserver {\n    listen 8080;\n}\n'
  t.equal(renderNginxConf(shipped, 9000, [1, 2]), 'upstream u {\n    server 127.0.0.1:1;\n    server 127.0.0.1:2;\n}\nserver {\n    listen 127.0.0.1:9000;\n}\n')
  t.throws(() => renderNginxConf(shipped, 9000, [1]), /lists 2 upstream servers, the test starts 1/)
  t.throws(() => renderNginxConf(shipped.replace('8080', '80'), 9000, [1, 2]), /no longer has `listen 8080;`/)
})

const skipReason = clusterSkipReason(PROGRAMS, process.env)
if (skipReason !== undefined) console.error(skipReason)

interface Payload { n: number, from: string }

t.test('several nodes on Redis, behind nginx', { skip: skipReason ?? false }, async (t) => {
  const redis = await startRedis()
  t.teardown(redis.stop)
  const env = { CORS_ORIGINS: ALLOWED }
  const [a, b, c] = await Promise.all([startNode('a', redis.url, env), startNode('b', redis.url, env), startNode('c', redis.url, env)])
  // SIGTERM (then SIGKILL): a node that exits writes its coverage.
  for (const node of [a, b, c]) t.teardown(node.stop)
  const nginx = await startNginx([a.port, b.port])
  t.teardown(nginx.stop)
  const nodes = { a, b, c }
  const base = (node: { port: number }): string => `http://127.0.0.1:${node.port}`

  const post = async (node: { port: number }, path: string, body: object = {}): Promise<unknown> => {
    const response = await fetch(`${base(node)}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`)
    return await response.json()
  }
  const get = async <T>(url: string): Promise<{ status: number, body: T }> => {
    const response = await fetch(url)
    return { status: response.status, body: await response.json() as T }
  }
  /** Polls `check` every 100 ms until it holds; bounded. */
  const eventually = async (what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> => {
    await within((async () => { while (!await check()) await new Promise((resolve) => setTimeout(resolve, 100)) })(), what, timeoutMs)
  }

  const dashboard = (t: TestLike, url: string, id: string, options: ClientOptions = {}): ClientSocket =>
    client(t, `${url}/admin`, { auth: { token: `admin:${id}` }, extraHeaders: { origin: ALLOWED }, ...options })
  /** The `cluster:event` payloads a client gets, in order. */
  const received = (socket: ClientSocket): Payload[] => {
    const got: Payload[] = []
    socket.on('cluster:event', (payload: Payload) => { got.push(payload) })
    return got
  }
  /** The next sentinel: pushed after the events under test, on the same path, so they came first if at all. */
  const sentinel = async (socket: ClientSocket, what: string): Promise<unknown> => await waitFor(socket, 'cluster:sentinel', { what, timeoutMs: 10_000 })
  const numbers = (got: Payload[]): number[] => got.map(({ n }) => n)

  // B broadcasts and answers (A is killed at the end, so it writes no coverage: every route of the
  // fixture runs on B or C).
  t.test('a broadcast, toUser and toRoom from B reach the dashboards on A and C exactly once each', async (t) => {
    const onA = await connected(dashboard(t, base(a), 'ada'))
    const onC = await connected(dashboard(t, base(c), 'ada'))
    const [gotA, gotC] = [received(onA), received(onC)]
    const sentinels = Promise.all([sentinel(onA, 'the sentinel on A'), sentinel(onC, 'the sentinel on C')])
    await post(b, '/push', { event: 'cluster:event', first: 1 })
    await post(b, '/push', { event: 'cluster:event', first: 2, to: { user: 'ada' } })
    await post(b, '/push', { event: 'cluster:event', first: 3, to: { room: 'ops' } })
    await post(b, '/push', { event: 'cluster:event', first: 4, to: { user: 'somebody-else' } })
    await post(b, '/push', { event: 'cluster:sentinel' })
    await sentinels
    t.same(numbers(gotA), [1, 2, 3], 'A: each once, in order, and not the other user\'s')
    t.same(numbers(gotC), [1, 2, 3], 'C: each once, in order, and not the other user\'s')
    t.ok(gotA.every(({ from }) => from === 'b'))
  })

  t.test('presence and typed server-side events span the nodes', async (t) => {
    await connected(dashboard(t, base(a), 'presence-a'))
    await connected(dashboard(t, base(c), 'presence-c'))
    const { body } = await get<{ users: Array<{ user: { id: string }, sockets: number }>, scope: string }>(`${base(b)}/presence`)
    t.equal(body.scope, 'cluster')
    t.same(body.users.map(({ user }) => user.id).filter((id) => id.startsWith('presence-')).sort(), ['presence-a', 'presence-c'])
    await post(b, '/ping-others')
    for (const node of [a, c]) await eventually(`node ${node.name} to get B's server-side event`, async () => (await get<string[]>(`${base(node)}/pings`)).body.includes('b'))
  })

  t.test('a refused origin is refused on every node, and through nginx', async (t) => {
    for (const url of [base(a), base(b), base(c), nginx.origin]) {
      const response = await raw(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: EVIL } })
      t.equal(response.status, 403, `${url}: 403`)
      t.match(response.body, /ORIGIN_REFUSED/)
      const refused = await connectError(client(t, `${url}/admin`, { auth: { token: 'admin:ada' }, extraHeaders: { origin: EVIL }, transports: ['websocket'] }))
      t.equal(refused.type, 'TransportError', `${url}: the WebSocket upgrade is refused too`)
    }
  })

  /** Loopback addresses nginx's `hash $remote_addr` sends to each node (Linux answers on all of 127/8). */
  const addressOf = new Map<string, string>()
  for (let i = 2; i < 40 && addressOf.size < 2; i++) {
    const address = `127.0.0.${i}`
    const reply = await raw(`${nginx.origin}/node`, { agent: new Agent({ localAddress: address }) })
    const { name } = JSON.parse(reply.body) as { name: string }
    if (!addressOf.has(name)) addressOf.set(name, address)
  }

  t.test('polling-only, WebSocket-only and upgrading clients through nginx, sticky to two nodes', async (t) => {
    t.same([...addressOf.keys()].sort(), ['a', 'b'], 'nginx spreads client addresses over both nodes')
    const sockets: ClientSocket[] = []
    for (const [name, address] of addressOf) {
      const agent = new Agent({ localAddress: address, keepAlive: true })
      t.teardown(() => { agent.destroy() })
      for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
        sockets.push(await connected(dashboard(t, nginx.origin, `via-nginx-${name}`, { transports, agent: agent as unknown as string })))
      }
    }
    const got = sockets.map(received)
    const sentinels = Promise.all(sockets.map((socket, i) => sentinel(socket, `the sentinel on client ${i}`)))
    // Many polls each: every one must reach the node that holds the session, or it gets 400 "Session ID unknown".
    for (let first = 1; first <= 20; first++) await post(c, '/push', { event: 'cluster:event', first })
    await post(c, '/push', { event: 'cluster:sentinel' })
    await sentinels
    for (const [i, list] of got.entries()) t.same(numbers(list), Array.from({ length: 20 }, (_, k) => k + 1), `client ${i}: each event once, in order`)
    for (const socket of sockets) t.ok(socket.connected)
  })

  t.test('the example app runs as several nodes on Redis (example/cluster-app.ts)', async (t) => {
    const cluster = 'dist/example/cluster-app.js'
    const [one, two] = await Promise.all([startExample({ REDIS_URL: redis.url }, cluster), startExample({ REDIS_URL: redis.url }, cluster)])
    t.teardown(one.stop)
    t.teardown(two.stop)
    const login = async (origin: string): Promise<string> => {
      const response = await fetch(`${origin}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'admin' }) })
      return response.headers.getSetCookie()[0]!.split(';')[0]!
    }
    // Each node keeps its own login sessions (in memory): a browser stays on one node behind nginx.
    const socket = io(`${one.origin}/admin`, { extraHeaders: { cookie: await login(one.origin) }, reconnection: false, forceNew: true })
    t.teardown(() => { socket.close() })
    await connected(socket)
    const progress = waitFor<{ startedBy: string }>(socket, 'job:progress', { what: 'a job of node two on node one\'s dashboard', timeoutMs: 10_000 })
    const started = await fetch(`${two.origin}/api/jobs`, { method: 'POST', headers: { cookie: await login(two.origin), origin: two.origin } })
    t.equal(started.status, 202)
    t.equal((await progress).startedBy, 'admin', 'the job started on node two')
    const ready = await fetch(`${one.origin}/api/ready`)
    t.same([ready.status, await ready.json()], [200, { status: 'ok', adapter: 'connected' }])
    t.ok(one.logs.some((line) => line.includes('cluster: Socket.IO on the Redis streams adapter')))
  })

  t.test('a client cut off A recovers on B with every missed event in order', async (t) => {
    const proxy = await startSwitchProxy(a.port)
    t.teardown(proxy.close)
    const socket = dashboard(t, `http://127.0.0.1:${proxy.port}`, 'recovering', { transports: ['websocket'], reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 })
    await connected(socket)
    const got = received(socket)
    const first = waitFor(socket, 'cluster:event', { what: 'the event before the cut' })
    await post(a, '/push', { event: 'cluster:event', first: 1 })
    await first
    proxy.target = undefined // A is out of reach for now: the client keeps retrying
    const dropped = waitFor(socket, 'disconnect', { what: 'the client to see the cut' })
    proxy.cut()
    await dropped
    await post(c, '/push', { event: 'cluster:event', first: 2, count: 5 })
    proxy.target = b.port
    await waitFor(socket, 'connect', { what: 'the client to reconnect, to B', timeoutMs: 10_000 })
    t.equal(socket.recovered, true, 'the session was restored on B, from Redis')
    const after = sentinel(socket, 'a sentinel from B after the recovery')
    await post(b, '/push', { event: 'cluster:sentinel' })
    await after
    t.same(numbers(got), [1, 2, 3, 4, 5, 6], 'every missed event, in order, once')
  })

  t.test('while Redis is down every node serves its own clients, queues nothing, logs once and resumes when it is back', async (t) => {
    const onB = await connected(dashboard(t, base(b), 'outage-b'))
    const onA = await connected(dashboard(t, base(a), 'outage-a'))
    const [gotA, gotB] = [received(onA), received(onB)]
    await redis.stop()
    t.teardown(async () => { if ((await get(`${base(b)}/health`).catch(() => ({ status: 0 }))).status !== 200) await redis.start().catch(() => {}) })
    // Every node, not only B: each checks its link once a second, and the test counts each node's outage line.
    for (const node of [a, b, c]) await eventually(`node ${node.name} to report degraded health`, async () => (await get(`${base(node)}/health`)).status === 503)
    const before = (await get<{ heapUsed: number }>(`${base(b)}/memory`)).body.heapUsed
    const onBOutage = sentinel(onB, 'the sentinel on B during the outage')
    // 20 000 events of 1 kB: 20 MB that a node waiting for Redis would hold in its command queue.
    for (let first = 1; first <= 20_000; first += 2000) await post(b, '/push', { event: 'cluster:event', first, count: 2000, padBytes: 1000 })
    await post(b, '/push', { event: 'cluster:sentinel' })
    await onBOutage
    t.equal(gotB.length, 20_000, 'B\'s own client got every event of the outage')
    const grown = (await get<{ heapUsed: number }>(`${base(b)}/memory`)).body.heapUsed - before
    t.ok(grown < 8 * 2 ** 20, `B's heap grew by ${(grown / 2 ** 20).toFixed(1)} MB for 20 MB of events: nothing kept for Redis`)
    const health = (await get<{ status: string, adapter: string }>(`${base(b)}/health`)).body
    t.match(health, { status: 'degraded', adapter: 'disconnected' })
    t.ok(a.alive() && b.alive() && c.alive(), 'no node crashed')

    await redis.start()
    for (const node of [a, b, c]) await eventually(`node ${node.name} to report ok again`, async () => (await get(`${base(node)}/health`)).status === 200)
    const onAAfter = sentinel(onA, 'a sentinel from B on A after the outage')
    await post(b, '/push', { event: 'cluster:event', first: 30_000 })
    await post(b, '/push', { event: 'cluster:sentinel' })
    await onAAfter
    t.same(numbers(gotA), [30_000], 'A got nothing of B\'s outage, and B\'s broadcasts again once Redis is back')
    for (const [name, node] of Object.entries(nodes)) {
      const lines = node.logs.filter((line) => line.includes('realtime adapter disconnected'))
      t.equal(lines.length, 1, `node ${name}: one line for the outage`)
      t.equal(node.logs.filter((line) => line.includes('realtime adapter connected again')).length, 1, `node ${name}: one line when it ended`)
    }
  })

  t.test('one node\'s close leaves the other nodes\' clients connected', async (t) => {
    const onA = await connected(dashboard(t, base(a), 'close-a'))
    const onB = await connected(dashboard(t, base(b), 'close-b'))
    const onC = await connected(dashboard(t, base(c), 'close-c'))
    let others = 0
    for (const socket of [onA, onB]) socket.on('disconnect', () => { others++ })
    const goneC = waitFor(onC, 'disconnect', { what: 'C\'s client to be disconnected by C\'s close' })
    t.equal(await c.stop(), 0, 'C closed cleanly on SIGTERM')
    await goneC
    const sentinels = Promise.all([sentinel(onA, 'a sentinel on A after C closed'), sentinel(onB, 'a sentinel on B after C closed')])
    await post(a, '/push', { event: 'cluster:sentinel' })
    await sentinels
    t.equal(others, 0, 'no client of A or B was disconnected')
  })

  t.test('a node killed with SIGKILL: its clients reconnect through nginx to the survivor and recover what they missed', async (t) => {
    const agent = new Agent({ localAddress: addressOf.get('a'), keepAlive: true })
    t.teardown(() => { agent.destroy() })
    // A fixed 1 s before reconnecting: the events below are pushed while the client is away.
    const socket = dashboard(t, nginx.origin, 'killed', { transports: ['polling'], agent: agent as unknown as string, reconnection: true, reconnectionDelay: 1000, randomizationFactor: 0 })
    await connected(socket)
    t.equal((JSON.parse((await raw(`${nginx.origin}/node`, { agent })).body) as { name: string }).name, 'a', 'the client is on A')
    const got = received(socket)
    const first = waitFor(socket, 'cluster:event', { what: 'the event before the kill' })
    await post(a, '/push', { event: 'cluster:event', first: 1 })
    await first
    const dropped = waitFor(socket, 'disconnect', { what: 'the client to lose A' })
    await a.kill()
    await dropped
    await post(b, '/push', { event: 'cluster:event', first: 2, count: 3 })
    await waitFor(socket, 'connect', { what: 'the client to reconnect through nginx, to B', timeoutMs: 15_000 })
    t.equal(socket.recovered, true, 'B restored the session A stored when the socket connected')
    const after = sentinel(socket, 'a sentinel from B')
    await post(b, '/push', { event: 'cluster:sentinel' })
    await after
    t.same(numbers(got), [1, 2, 3, 4], 'the events pushed while it was away, in order, once')
  })
})
