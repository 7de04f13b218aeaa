// Scale-out: a dashboard broadcast to N clients spread over 2 nodes on Redis
// (@socket.io/redis-streams-adapter, the broadcasting node numbers each packet in
// Redis, the other reads it from the stream) against the same N clients on 1 node
// without an adapter. Both nodes run on core 0, like the single node, so the
// ratio is the cost of the cluster for the same CPU; redis-server and the client
// processes run on core 1. Per-core figures: deliveries/s per server core and the
// connections each node held. docs/scaling.md turns them into a capacity plan.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { spawnNode, hasTaskset } from '../lib/proc.js'
import { compareRow, plainRow, skipRow } from '../lib/report.js'
import { ALLOWED_ORIGIN } from '../lib/plugin.js'

const REDIS_SERVER = '/usr/bin/redis-server'
const NAME_BURST = (n) => `8 scale burst, ${n} clients`
const NAME_PACED = (n, rate) => `8 scale ${rate}/s, ${n} clients`

export async function scaleSuite (ctx) {
  const { quick, pluginReason } = ctx
  if (pluginReason) return [skipRow('8 scale', '2 nodes on Redis', 'delivered/s', pluginReason)]
  if (spawnSync(REDIS_SERVER, ['--version']).status !== 0) return [skipRow('8 scale', '2 nodes on Redis', 'delivered/s', `${REDIS_SERVER} missing (apt-get install redis-server)`)]
  const n = 1000
  const redis = await startRedis()
  const procs = []
  try {
    const env = { REDIS_URL: redis.url }
    const spawnPair = (variant) => {
      const pair = {
        server: spawnNode('servers/realtime.js', { core: 0, args: [variant], nodeArgs: ['--expose-gc'], env }),
        client: spawnNode('clients/sockets.js', { core: 1 })
      }
      procs.push(pair)
      return pair
    }
    const single = [spawnPair('plugin')]
    const cluster = [spawnPair('plugin-redis'), spawnPair('plugin-redis')]
    const connect = async (group) => {
      const share = n / group.length
      for (const { server, client } of group) {
        const { port } = await server.ready
        await client.ready
        const c = await client.call('connect', { url: `ws://127.0.0.1:${port}`, n: share, mode: 'eio', origin: ALLOWED_ORIGIN })
        const held = await server.call('count')
        if (c.connected !== share || held !== share) throw new Error(`${c.connected}/${share} clients connected (server sees ${held}; last error ${c.lastError})`)
      }
    }
    await connect(single)
    await connect(cluster)

    /** Broadcasts from the group's first node; waits for every client of every node. */
    const run = async (group, command, payload, sample) => {
      await Promise.all(group.map(({ client }) => client.call('arm', { sample })))
      await Promise.all(group.map(({ server }) => server.call('cpuStart')))
      const sent = await group[0].server.call(command, payload)
      const waits = await Promise.all(group.map(({ client }) => client.call('wait', { expected: (n / group.length) * sent.sent, timeoutMs: 120_000 })))
      const cpus = await Promise.all(group.map(({ server }) => server.call('cpuStopDetail')))
      const received = waits.reduce((sum, w) => sum + w.received, 0)
      if (waits.some((w) => w.timedOut)) throw new Error(`${command}: delivered ${received} of ${n * sent.sent} events in 120 s`)
      const lastRecv = Math.max(...waits.map((w) => w.lastRecv))
      const serverUs = cpus.reduce((sum, c) => sum + c.cpuUs, 0)
      return {
        eventsPerSec: (received / (lastRecv - sent.tStart)) * 1000,
        // the worst node's percentile: an upper bound of the cluster's
        p50: Math.max(...waits.map((w) => w.latency.p50)),
        p99: Math.max(...waits.map((w) => w.latency.p99)),
        clientCpu: Math.max(...waits.map((w) => w.load)),
        serverUsPer1k: (serverUs / received) * 1000
      }
    }
    const burstEvents = quick ? 50 : 200
    const rounds = quick ? 2 : 5
    const pacedRate = 20
    const pacedSeconds = quick ? 2 : 5
    const groups = { single, cluster }
    const bursts = { single: [], cluster: [] }
    const paces = { single: [], cluster: [] }
    for (const name of ['single', 'cluster']) await run(groups[name], 'burst', { events: 10 }, 16) // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const name of r % 2 ? ['cluster', 'single'] : ['single', 'cluster']) {
        const res = await run(groups[name], 'burst', { events: burstEvents }, 16)
        bursts[name].push(res)
        ctx.log(`  scale burst r${r} ${name}: ${Math.round(res.eventsPerSec)} deliveries/s, ${Math.round(res.serverUsPer1k)} us server CPU/1k`)
      }
    }
    for (let r = 0; r < (quick ? 1 : 3); r++) {
      for (const name of ['single', 'cluster']) {
        const res = await run(groups[name], 'paced', { rate: pacedRate, seconds: pacedSeconds }, 1)
        paces[name].push(res)
        ctx.log(`  scale paced r${r} ${name}: p50 ${res.p50} ms p99 ${res.p99} ms`)
      }
    }
    ctx.details.scale = { n, bursts, paces, burstEvents, pacedRate, pacedSeconds, pinned: hasTaskset() }

    const pick = (list, f) => list.map((r) => ({ value: f(r), clientCpu: r.clientCpu }))
    const variant = '2 nodes on Redis'
    const base = '1 node, no adapter'
    const rows = [
      compareRow({ name: NAME_BURST(n), variant, metric: 'delivered/s', unit: '', samples: pick(bursts.cluster, (r) => r.eventsPerSec), baseLabel: base, baseSamples: pick(bursts.single, (r) => r.eventsPerSec), better: 'higher', target: 0.8 }),
      compareRow({ name: NAME_BURST(n), variant, metric: 'server CPU/1k deliveries', unit: 'us', samples: pick(bursts.cluster, (r) => r.serverUsPer1k), baseLabel: base, baseSamples: pick(bursts.single, (r) => r.serverUsPer1k), better: 'lower' }),
      compareRow({ name: NAME_PACED(n, pacedRate), variant, metric: 'p50 latency', unit: 'ms', samples: pick(paces.cluster, (r) => r.p50), baseLabel: base, baseSamples: pick(paces.single, (r) => r.p50), better: 'lower' }),
      compareRow({ name: NAME_PACED(n, pacedRate), variant, metric: 'p99 latency', unit: 'ms', samples: pick(paces.cluster, (r) => r.p99), baseLabel: base, baseSamples: pick(paces.single, (r) => r.p99), better: 'lower' })
    ]
    // Per core: both nodes share core 0, so the cluster's figures are per core as they stand.
    const median = (xs) => xs.sort((x, y) => x - y)[xs.length >> 1]
    rows.push(plainRow({ name: NAME_BURST(n), variant: `${variant}, per server core`, metric: 'delivered/s', unit: '', value: median(bursts.cluster.map((r) => r.eventsPerSec)), note: `${n / 2} connections held per node` }))
    rows.push(plainRow({ name: NAME_BURST(n), variant: `${base}, per server core`, metric: 'delivered/s', unit: '', value: median(bursts.single.map((r) => r.eventsPerSec)), note: `${n} connections held` }))
    return rows
  } finally {
    await Promise.all(procs.flatMap((p) => [p.client.stop(), p.server.stop()]))
    await redis.stop()
  }
}

async function startRedis () {
  const probe = createServer().listen(0, '127.0.0.1')
  await once(probe, 'listening')
  const { port } = probe.address()
  probe.close()
  await once(probe, 'close')
  const argv = [REDIS_SERVER, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
  const child = hasTaskset() ? spawn('taskset', ['-c', '1', ...argv], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start in 10 s')), 10_000)
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited with code ${code}`)) })
    createInterface({ input: child.stdout }).on('line', (line) => { if (/Ready to accept connections/.test(line)) { clearTimeout(timer); resolve() } })
  })
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
}
