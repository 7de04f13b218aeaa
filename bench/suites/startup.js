// Issue #10, last row: an app that uses only the CORS plugin, started on `fastify-cors-io/cors`,
// against the same app on @fastify/cors: process start to listening, and RSS after start. The
// combined entry point (which loads socket.io and engine.io) is listed for context. Variants
// alternate run by run, each in a fresh process on core 0.
import { runNode } from '../lib/proc.js'
import { compareRow, skipRow } from '../lib/report.js'

const label = { 'fastify-cors': '@fastify/cors app', 'cors-entry': 'fastify-cors-io/cors app', 'combined-entry': 'fastify-cors-io app' }

export async function startupSuite (ctx) {
  const { quick, pluginReason } = ctx
  const runs = quick ? 3 : 15
  const variants = ['fastify-cors', ...(pluginReason ? [] : ['cors-entry', 'combined-entry'])]
  const samples = Object.fromEntries(variants.map((v) => [v, []]))
  for (let r = 0; r < runs; r++) {
    for (let j = 0; j < variants.length; j++) {
      const v = variants[(j + r) % variants.length]
      const m = await runNode('servers/startup-app.js', { core: 0, args: [v], nodeArgs: ['--expose-gc'], steadyHeap: false })
      samples[v].push(m)
      ctx.log(`  startup r${r} ${v}: ${m.startMs.toFixed(1)} ms to listening, ${(m.rss / 2 ** 20).toFixed(1)} MiB RSS`)
    }
  }
  ctx.details.startup = samples
  const name = '10 CORS-only app start'
  if (pluginReason) return [skipRow(name, label['cors-entry'], 'start to listening', pluginReason)]
  const pick = (v, f) => samples[v].map((m) => ({ value: f(m) }))
  const rows = []
  for (const [variant, target] of [['cors-entry', 1.1], ['combined-entry', null]]) {
    rows.push(compareRow({ name, variant: label[variant], metric: 'start to listening', unit: 'ms', samples: pick(variant, (m) => m.startMs), baseLabel: label['fastify-cors'], baseSamples: pick('fastify-cors', (m) => m.startMs), better: 'lower', target }))
    rows.push(compareRow({ name, variant: label[variant], metric: 'RSS after start', unit: 'MiB', samples: pick(variant, (m) => m.rss / 2 ** 20), baseLabel: label['fastify-cors'], baseSamples: pick('fastify-cors', (m) => m.rss / 2 ** 20), better: 'lower', target }))
  }
  return rows
}
