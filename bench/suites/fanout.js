// Item 5: dashboard fan-out. fastify.dashboard.broadcast (plugin) vs plain
// socket.io namespace emit vs a raw `ws` broadcast loop, to N connected clients.
// The realtime plugin turns Socket.IO's connection-state recovery on by default
// (every broadcast gets an offset and is kept for the recovery window), plain
// socket.io has it off; `socket.io emit + recovery` (plain socket.io with the same
// recovery settings) and `plugin (recoveryWindowMs: 0)` separate the cost of
// recovery from the cost of the plugin.
// All servers (core 0) keep their N clients (one client process each, core 1)
// for the whole suite; the burst and paced measurements are interleaved.
import { spawnNode } from '../lib/proc.js'
import { compareRow, skipRow } from '../lib/report.js'
import { ALLOWED_ORIGIN } from '../lib/plugin.js'

const label = {
  plugin: 'plugin broadcast',
  'plugin-norecovery': 'plugin (recoveryWindowMs: 0)',
  plain: 'socket.io emit',
  'plain-recovery': 'socket.io emit + recovery',
  ws: 'raw ws loop'
}
// whether each server variant must have connection-state recovery on (checked at start)
const recoveryOn = { plugin: true, 'plugin-norecovery': false, plain: false, 'plain-recovery': true, ws: false }
// [variant, baseline, targeted]: the target is plugin vs plain socket.io; the rest is context
const PAIRS = [
  ['plugin', 'plain', true],
  ['plugin', 'plain-recovery', false],
  ['plain-recovery', 'plain', false],
  ['plugin-norecovery', 'plain', false],
  ['plugin', 'ws', false],
  ['plain', 'ws', false]
]

export async function fanoutSuite (ctx) {
  const { quick, pluginReason } = ctx
  const sizes = quick ? [1000] : [1000, 5000]
  const rows = []
  for (const n of sizes) rows.push(...await fanoutFor(ctx, n, quick))
  if (pluginReason) rows.push(skipRow('5 fan-out', label.plugin, 'events/s', pluginReason))
  return rows
}

async function fanoutFor (ctx, n, quick) {
  // quick mode (a smoke run) leaves out the recovery-off plugin variant to stay short
  const pluginVariants = ctx.pluginReason ? [] : quick ? ['plugin'] : ['plugin', 'plugin-norecovery']
  const variants = ['ws', 'plain', 'plain-recovery', ...pluginVariants]
  const sio = ctx.sioClient ? 'sio' : 'eio'
  const mode = Object.fromEntries(variants.map((v) => [v, v === 'ws' ? 'ws' : sio]))
  const burstEvents = Math.max(10, Math.round((quick ? 100_000 : 300_000) / n))
  const burstRounds = quick ? 2 : 5
  // The same 20,000 deliveries/s at every size (20 events/s to 1,000 clients, 4/s to 5,000): 20/s to
  // 5,000 clients was 100,000 deliveries/s, this machine's burst ceiling, so it measured a backlog.
  const pacedRate = Math.round(20_000 / n)
  const pacedSeconds = quick ? 2 : 5
  const pacedRounds = quick ? 1 : 3
  const procs = {}
  try {
    for (const v of variants) {
      procs[v] = {
        server: spawnNode('servers/realtime.js', { core: 0, args: [v], nodeArgs: ['--expose-gc'] }),
        client: spawnNode('clients/sockets.js', { core: 1 })
      }
    }
    for (const v of variants) {
      const { port, recovery } = await procs[v].server.ready
      if (recovery !== recoveryOn[v]) throw new Error(`${v}: connection-state recovery is ${recovery ? 'on' : 'off'}, expected ${recoveryOn[v] ? 'on' : 'off'}`)
      await procs[v].client.ready
      const url = `${mode[v] === 'sio' ? 'http' : 'ws'}://127.0.0.1:${port}`
      const c = await procs[v].client.call('connect', { url, n, mode: mode[v], origin: ALLOWED_ORIGIN })
      const onServer = await procs[v].server.call('count')
      if (c.connected !== n || onServer !== n) throw new Error(`${v}: ${c.connected}/${n} clients connected (server sees ${onServer}; last error ${c.lastError})`)
      ctx.log(`  fan-out ${v}: ${n} clients connected in ${c.ms} ms`)
    }

    const burst = async (v, events) => {
      const { server, client } = procs[v]
      await client.call('arm', { sample: 16 })
      await server.call('cpuStart')
      const b = await server.call('burst', { events })
      const w = await client.call('wait', { expected: n * events, timeoutMs: 120_000 })
      const s = await server.call('cpuStopDetail')
      if (w.timedOut) throw new Error(`${v}: burst delivered ${w.received} of ${n * events} events in 120 s`)
      return {
        eventsPerSec: (w.received / (w.lastRecv - b.tStart)) * 1000,
        p99: w.latency.p99,
        clientCpu: w.load,
        cpu: w.cpu,
        elu: w.elu,
        serverCpu: s.cpu,
        // server CPU per 1,000 deliveries: the cost figure least disturbed by other jobs
        serverUsPer1k: (s.cpuUs / w.received) * 1000,
        sendMs: b.tEnd - b.tStart
      }
    }
    const paced = async (v) => {
      const { server, client } = procs[v]
      await client.call('arm', { sample: 1 })
      await server.call('cpuStart')
      const p = await server.call('paced', { rate: pacedRate, seconds: pacedSeconds })
      const w = await client.call('wait', { expected: n * p.sent, timeoutMs: 60_000 })
      const serverCpu = await server.call('cpuStop')
      if (w.timedOut) throw new Error(`${v}: paced run delivered ${w.received} of ${n * p.sent} events`)
      return { p50: w.latency.p50, p99: w.latency.p99, clientCpu: w.load, cpu: w.cpu, elu: w.elu, serverCpu }
    }

    for (const v of variants) await burst(v, Math.max(5, burstEvents >> 2)) // warm-up
    const bursts = Object.fromEntries(variants.map((v) => [v, []]))
    for (let r = 0; r < burstRounds; r++) {
      for (let j = 0; j < variants.length; j++) {
        const v = variants[(j + r) % variants.length]
        const res = await burst(v, burstEvents)
        bursts[v].push(res)
        ctx.log(`  fan-out ${n} burst r${r} ${v}: ${Math.round(res.eventsPerSec)} ev/s p99 ${res.p99} ms client cpu ${(res.cpu * 100).toFixed(0)}% elu ${(res.elu * 100).toFixed(0)}% server cpu ${(res.serverCpu * 100).toFixed(0)}% (${Math.round(res.serverUsPer1k)} us/1k deliveries)`)
      }
    }
    const paces = Object.fromEntries(variants.map((v) => [v, []]))
    for (let r = 0; r < pacedRounds; r++) {
      for (let j = 0; j < variants.length; j++) {
        const v = variants[(j + r) % variants.length]
        const res = await paced(v)
        paces[v].push(res)
        ctx.log(`  fan-out ${n} paced r${r} ${v}: p50 ${res.p50} ms p99 ${res.p99} ms client cpu ${(res.cpu * 100).toFixed(0)}% server cpu ${(res.serverCpu * 100).toFixed(0)}%`)
      }
    }
    ctx.details[`fanout:${n}`] = { bursts, paces, burstEvents, pacedRate, pacedSeconds }

    const rows = []
    const pick = (list, f) => list.map((r) => ({ value: f(r), clientCpu: r.clientCpu }))
    const bName = `5 fan-out burst, ${n} clients`
    const pName = `5 fan-out ${pacedRate}/s, ${n} clients`
    const pairs = PAIRS.filter(([v, b]) => variants.includes(v) && variants.includes(b))
    for (const [v, b, target] of pairs) {
      rows.push(compareRow({ name: bName, variant: label[v], metric: 'delivered/s', unit: '', samples: pick(bursts[v], (r) => r.eventsPerSec), baseLabel: label[b], baseSamples: pick(bursts[b], (r) => r.eventsPerSec), better: 'higher', target: target ? 0.95 : null }))
      if (b !== 'ws') {
        rows.push(compareRow({ name: bName, variant: label[v], metric: 'server CPU/1k deliveries', unit: 'us', samples: pick(bursts[v], (r) => r.serverUsPer1k), baseLabel: label[b], baseSamples: pick(bursts[b], (r) => r.serverUsPer1k), better: 'lower' }))
      }
    }
    for (const [v, b, target] of pairs) {
      rows.push(compareRow({ name: pName, variant: label[v], metric: 'p50 latency', unit: 'ms', samples: pick(paces[v], (r) => r.p50), baseLabel: label[b], baseSamples: pick(paces[b], (r) => r.p50), better: 'lower' }))
      rows.push(compareRow({ name: pName, variant: label[v], metric: 'p99 latency', unit: 'ms', samples: pick(paces[v], (r) => r.p99), baseLabel: label[b], baseSamples: pick(paces[b], (r) => r.p99), better: 'lower', target: target ? 1.1 : null }))
    }
    return rows
  } finally {
    await Promise.all(Object.values(procs).flatMap((p) => [p.client.stop(), p.server.stop()]))
  }
}
