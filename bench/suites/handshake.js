// Item 4: Socket.IO handshakes per second (INFO; see DECIDED_BY_COUNT), this plugin (origin check on every
// engine.io request and upgrade, authenticate + isAdmin middlewares) vs a plain
// socket.io server on the same Fastify, namespace /admin. Both transport lists use the wire-protocol
// client (bench/clients/handshake.js), with which one load-generator core keeps up with the server;
// `--sio-client` runs the real socket.io-client instead.
import { spawnNode, spawnWarmServer, tickStates } from '../lib/proc.js'
import { compareRow, skipRow, withTickStates } from '../lib/report.js'
import { ALLOWED_ORIGIN } from '../lib/plugin.js'

const label = { plugin: 'plugin', plain: 'plain socket.io' }
// Rounds of handshakes/s spread 20-58 % on the development machine, more than the 3 % the target
// leaves; the instruction count per handshake (bench/suites/instructions.js) repeats within 2 %.
const DECIDED_BY_COUNT = 'issue #10\'s >= 0.97x is decided by the instructions suite\'s count per handshake'

export async function handshakeSuite (ctx) {
  const { quick, pluginReason } = ctx
  const variants = ['plain', ...(pluginReason ? [] : ['plugin'])]
  const transportsList = quick ? [['polling', 'websocket']] : [['polling', 'websocket'], ['websocket']]
  const client = ctx.sioClient ? 'sio' : 'eio'
  const duration = quick ? 1.5 : 4
  const rounds = quick ? 2 : 7
  const concurrency = 10
  const rows = []
  const servers = {}
  const ports = {}
  const generator = spawnNode('clients/handshake.js', { core: 1 })
  try {
    await generator.ready
    const run = async (v, transports, d) => {
      await servers[v].call('cpuStart')
      const r = await generator.call('run', { url: `http://127.0.0.1:${ports[v]}`, origin: ALLOWED_ORIGIN, duration: d, concurrency, transports, client })
      r.serverCpu = await servers[v].call('cpuStop')
      if (r.failed) throw new Error(`${v}: ${r.failed} handshakes failed (${r.lastError})`)
      return r
    }
    // Warmed on the first transport list; one server per variant for every list.
    for (const v of variants) {
      await spawnWarmServer(() => (servers[v] = spawnNode('servers/realtime.js', { core: 0, args: [v], nodeArgs: ['--expose-gc'] })), async (server) => {
        ports[v] = (await server.ready).port
        await run(v, transportsList[0], quick ? 0.5 : 6)
      })
    }
    for (const transports of transportsList) {
      const name = `4 handshakes (${transports.join('->')})`
      if (transports !== transportsList[0]) for (const v of variants) await run(v, transports, quick ? 0.5 : 6) // warm-up
      const samples = Object.fromEntries(variants.map((v) => [v, []]))
      for (let r = 0; r < rounds; r++) {
        for (let j = 0; j < variants.length; j++) {
          const v = variants[(j + r) % variants.length]
          const res = await run(v, transports, duration)
          samples[v].push(res)
          ctx.log(`  ${name} r${r} ${v}: ${Math.round(res.handshakesPerSec)}/s p99 ${res.latency.p99} ms client cpu ${(res.cpu * 100).toFixed(0)}% elu ${(res.elu * 100).toFixed(0)}% server cpu ${(res.serverCpu * 100).toFixed(0)}%`)
        }
      }
      ctx.details[`handshake:${transports.join('->')}`] = samples
      if (pluginReason) {
        rows.push(skipRow(name, label.plugin, 'handshakes/s', pluginReason))
        continue
      }
      const pick = (v, f) => samples[v].map((r) => ({ value: f(r), clientCpu: r.load }))
      const states = await tickStates(Object.fromEntries(variants.map((v) => [label[v], servers[v]])))
      rows.push(...[compareRow({ name, variant: label.plugin, metric: 'handshakes/s', unit: '', samples: pick('plugin', (r) => r.handshakesPerSec), baseLabel: label.plain, baseSamples: pick('plain', (r) => r.handshakesPerSec), better: 'higher', note: DECIDED_BY_COUNT }),
        compareRow({ name, variant: label.plugin, metric: 'server CPU/handshake', unit: 'us', samples: pick('plugin', (r) => (r.serverCpu * 1e6) / r.handshakesPerSec), baseLabel: label.plain, baseSamples: pick('plain', (r) => (r.serverCpu * 1e6) / r.handshakesPerSec), better: 'lower' })].map((row) => withTickStates(row, states)))
    }
  } finally {
    await Promise.all([generator.stop(), ...Object.values(servers).map((s) => s.stop())])
  }
  return rows
}
