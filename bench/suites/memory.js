// Item 6: memory per idle connected socket, this plugin vs plain socket.io on
// the same Fastify. Each round starts a fresh server (with --expose-gc), takes
// process.memoryUsage() after GC, connects N clients (core 1), waits, GCs and
// measures again: per-socket = delta / N. Variants alternate round by round.
import { setTimeout as sleep } from 'node:timers/promises'
import { spawnNode } from '../lib/proc.js'
import { compareRow, skipRow } from '../lib/report.js'
import { ALLOWED_ORIGIN } from '../lib/plugin.js'

const label = { plugin: 'plugin', plain: 'plain socket.io' }

async function measureOnce (variant, n, mode) {
  const server = spawnNode('servers/realtime.js', { core: 0, args: [variant], nodeArgs: ['--expose-gc'] })
  const client = spawnNode('clients/sockets.js', { core: 1 })
  try {
    const { port } = await server.ready
    await client.ready
    await sleep(200)
    const before = await server.call('mem')
    const c = await client.call('connect', { url: `${mode === 'sio' ? 'http' : 'ws'}://127.0.0.1:${port}`, n, mode, origin: ALLOWED_ORIGIN })
    const seen = await server.call('count')
    if (c.connected !== n || seen !== n) throw new Error(`${variant}: ${c.connected}/${n} connected, server sees ${seen} (${c.lastError})`)
    await sleep(500)
    const after = await server.call('mem')
    return { rss: (after.rss - before.rss) / n, heap: (after.heapUsed - before.heapUsed) / n, connectMs: c.ms }
  } finally {
    await Promise.all([client.stop(), server.stop()])
  }
}

export async function memorySuite (ctx) {
  const { quick, pluginReason } = ctx
  const sizes = quick ? [1000] : [1000, 5000]
  const rounds = quick ? 1 : 3
  const mode = ctx.sioClient ? 'sio' : 'eio'
  const variants = ['plain', ...(pluginReason ? [] : ['plugin'])]
  const rows = []
  for (const n of sizes) {
    const samples = Object.fromEntries(variants.map((v) => [v, []]))
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < variants.length; j++) {
        const v = variants[(j + r) % variants.length]
        const m = await measureOnce(v, n, mode)
        samples[v].push(m)
        ctx.log(`  memory ${n} r${r} ${v}: ${(m.rss / 1024).toFixed(1)} KiB RSS/socket, ${(m.heap / 1024).toFixed(1)} KiB heap/socket (connect ${m.connectMs} ms)`)
      }
    }
    ctx.details[`memory:${n}`] = samples
    const name = `6 memory per idle socket, ${n}`
    if (pluginReason) {
      rows.push(skipRow(name, label.plugin, 'KiB/socket', pluginReason))
      continue
    }
    const pick = (v, f) => samples[v].map((m) => ({ value: f(m) / 1024 }))
    rows.push(compareRow({ name, variant: label.plugin, metric: 'RSS/socket', unit: 'KiB', samples: pick('plugin', (m) => m.rss), baseLabel: label.plain, baseSamples: pick('plain', (m) => m.rss), better: 'lower', target: 1.05 }))
    rows.push(compareRow({ name, variant: label.plugin, metric: 'heap/socket', unit: 'KiB', samples: pick('plugin', (m) => m.heap), baseLabel: label.plain, baseSamples: pick('plain', (m) => m.heap), better: 'lower', target: 1.05 }))
  }
  return rows
}
