// Live topics: a producer publishing 100,000 updates/s over 10 topics to 1,000 dashboard clients,
// coalesced to 10 Hz per topic (fastify.dashboard.publish) against broadcasting every update
// (fastify.dashboard.broadcast). Frames and bytes the server writes per second, and its CPU; plus the
// size of the browser client (fastify-cors-io/client) as esbuild minifies and gzip compresses it.
import { gzipSync } from 'node:zlib'
import path from 'node:path'
import { build } from 'esbuild'
import { benchDir, spawnNode } from '../lib/proc.js'
import { compareRow, plainRow, skipRow } from '../lib/report.js'
import { ALLOWED_ORIGIN } from '../lib/plugin.js'

const NAME = 'topics'
const VARIANTS = ['publish', 'broadcast']

export async function topicsSuite (ctx) {
  if (ctx.pluginReason) return [skipRow(NAME, 'publish', 'frames/s', ctx.pluginReason)]
  const rows = []
  const n = 1000
  const seconds = ctx.quick ? 2 : 5
  const rounds = ctx.quick ? 1 : 3
  const procs = {}
  try {
    for (const v of VARIANTS) procs[v] = { server: spawnNode('servers/topics.js', { core: 0, args: [v] }), client: spawnNode('clients/sockets.js', { core: 1 }) }
    for (const v of VARIANTS) {
      const { port } = await procs[v].server.ready
      await procs[v].client.ready
      const c = await procs[v].client.call('connect', { url: `ws://127.0.0.1:${port}`, n, mode: 'eio', origin: ALLOWED_ORIGIN })
      const onServer = await procs[v].server.call('count')
      if (c.connected !== n || onServer !== n) throw new Error(`${v}: ${c.connected}/${n} clients connected (server sees ${onServer}; last error ${c.lastError})`)
    }
    const samples = Object.fromEntries(VARIANTS.map((v) => [v, []]))
    for (let r = 0; r < rounds; r++) {
      for (const v of VARIANTS) {
        await procs[v].client.call('arm', { sample: 1000 })
        const res = await procs[v].server.call('produce', { rate: 100_000, topics: 10, seconds })
        samples[v].push(res)
        ctx.log(`  topics ${v} r${r}: ${Math.round(res.updatesPerSec)} updates/s, ${Math.round(res.framesPerSec)} frames/s, ${Math.round(res.bytesPerSec)} B/s, server cpu ${(res.cpu * 100).toFixed(0)}%`)
      }
    }
    const series = (v, key) => samples[v].map((s) => ({ value: s[key] }))
    const note = samples.broadcast.some((s) => s.lagging) ? 'broadcast could not keep up with 100,000 updates/s' : ''
    rows.push(compareRow({ name: NAME, variant: 'publish 10 Hz', metric: 'frames/s sent', unit: '/s', samples: series('publish', 'framesPerSec'), baseLabel: 'broadcast every update', baseSamples: series('broadcast', 'framesPerSec'), better: 'lower', note }))
    rows.push(compareRow({ name: NAME, variant: 'publish 10 Hz', metric: 'bytes/s sent', unit: 'B/s', samples: series('publish', 'bytesPerSec'), baseLabel: 'broadcast every update', baseSamples: series('broadcast', 'bytesPerSec'), better: 'lower' }))
    rows.push(compareRow({ name: NAME, variant: 'publish 10 Hz', metric: 'server CPU', unit: '', samples: series('publish', 'cpu'), baseLabel: 'broadcast every update', baseSamples: series('broadcast', 'cpu'), better: 'lower' }))
    rows.push(compareRow({ name: NAME, variant: 'publish 10 Hz', metric: 'updates/s absorbed', unit: '/s', samples: series('publish', 'updatesPerSec'), baseLabel: 'broadcast every update', baseSamples: series('broadcast', 'updatesPerSec') }))
    // 10 topics x 10 Hz x 1,000 clients: the frames a coalesced producer should cost, whatever its rate.
    rows.push(plainRow({ name: NAME, variant: 'publish 10 Hz', metric: 'frames/s expected', unit: '/s', value: 10 * 10 * n }))
  } finally {
    await Promise.all(Object.values(procs).flatMap((p) => [p.client.stop(), p.server.stop()]))
  }
  rows.push(...await bundleRows())
  return rows
}

/** The client as a page gets it: minified ESM, with and without socket.io-client, gzip -9. */
async function bundleRows () {
  const entry = path.resolve(benchDir, '..', 'dist', 'client', 'index.js')
  const size = async (external) => {
    const out = await build({ entryPoints: [entry], bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, external, logLevel: 'silent' })
    return gzipSync(out.outputFiles[0].contents, { level: 9 }).length
  }
  return [
    plainRow({ name: NAME, variant: 'client bundle', metric: 'min+gzip bytes', unit: 'B', value: await size(['socket.io-client']), note: 'socket.io-client external' }),
    plainRow({ name: NAME, variant: 'client + socket.io-client', metric: 'min+gzip bytes', unit: 'B', value: await size([]) })
  ]
}
