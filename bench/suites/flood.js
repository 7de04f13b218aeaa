// Item 7: 1,000,000 distinct random Origin values through policy.verdict() and
// logRefusal() (what the CORS hook does per request); memory must stay bounded:
// the decision cache never above its limit (decisionCacheSize), and the heap
// after GC back near where it started. Peaks are sampled every 10,000 values.
import { runNode } from '../lib/proc.js'
import { plainRow, skipRow } from '../lib/report.js'

const HEAP_GROWTH_BOUND_MIB = 32

export async function floodSuite (ctx) {
  const r = await runNode('micro/flood.js', { core: 0, nodeArgs: ['--expose-gc'], args: [`--count=${ctx.quick ? 200_000 : 1_000_000}`] })
  ctx.details.flood = r
  const name = `7 origin flood (${ctx.quick ? '200k' : '1M'} distinct)`
  const variant = 'policy.verdict()'
  if (r.pluginReason) return [skipRow(name, variant, 'memory', r.pluginReason)]
  const rows = []
  const rate = `${Math.round(r.count / r.seconds / 1000)}k verdicts/s, ${r.allowed} allowed, ${r.logged} refusals logged`
  if (r.hasCache) {
    const limitOk = r.cacheLimit === r.configuredCacheSize
    const ok = limitOk && r.maxCache <= r.cacheLimit
    const note = `final size ${r.finalCache}${limitOk ? '' : `; cacheLimit ${r.cacheLimit} is not decisionCacheSize ${r.configuredCacheSize}`}`
    rows.push(plainRow({ name, variant, metric: 'decision cache max', unit: '', value: r.maxCache, baseLabel: 'cacheLimit', base: r.cacheLimit, target: '<= cacheLimit', status: ok ? 'PASS' : 'MISS', note }))
  } else {
    rows.push(plainRow({ name, variant, metric: 'decision cache max', unit: '', value: NaN, target: '<= cacheLimit', status: 'MISS', note: 'policy.cacheSize / policy.cacheLimit not exposed' }))
  }
  rows.push(plainRow({ name, variant, metric: 'peak RSS', unit: 'MiB', value: r.peakRssMiB, baseLabel: 'before', base: r.rssBeforeMiB, note: rate }))
  rows.push(plainRow({ name, variant, metric: 'peak heap', unit: 'MiB', value: r.peakHeapMiB, baseLabel: 'before', base: r.heapBeforeMiB }))
  const growth = r.heapAfterGcMiB - r.heapBeforeMiB
  rows.push(plainRow({ name, variant, metric: 'heap after GC', unit: 'MiB', value: r.heapAfterGcMiB, baseLabel: 'before', base: r.heapBeforeMiB, target: `growth < ${HEAP_GROWTH_BOUND_MIB} MiB`, status: growth < HEAP_GROWTH_BOUND_MIB ? 'PASS' : 'MISS', note: `growth ${growth.toFixed(1)} MiB` }))
  return rows
}
