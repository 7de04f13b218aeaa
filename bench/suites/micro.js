// Item 3: origin decision micro-benchmark (runs bench/micro/decide.js on core 0).
import { runNode } from '../lib/proc.js'
import { compareRow, skipRow } from '../lib/report.js'

const ns = (x) => ({ value: x })

export async function microSuite (ctx) {
  const args = ctx.quick ? ['--quick'] : []
  const res = await runNode('micro/decide.js', { core: 0, args })
  ctx.details.micro = res
  const rows = []
  if (!res.decide) {
    rows.push(skipRow('3 origin decision', 'plugin decide()', 'ns/op', res.pluginReason))
  } else {
    // warm: the default decision cache, the same 64 inputs over and over (a repeated origin);
    // cold: decisionCacheSize 0, every decision computed (a never-seen origin). Same targets:
    // both are the cost of one decision, the second without the memo's help.
    const caches = [...new Set(res.decide.map((r) => r.cache ?? 'warm'))]
    for (const cache of caches) {
      const mine = res.decide.filter((r) => (r.cache ?? 'warm') === cache)
      const get = (kind, size, input) => mine.find((r) => r.kind === kind && r.size === size && r.input === input)
      for (const kind of ['exact', 'wildcard', 'regexp', 'mix']) {
        const sizes = [...new Set(mine.filter((r) => r.kind === kind).map((r) => r.size))].sort((a, b) => a - b)
        for (const input of ['hit', 'miss', 'malformed']) {
          const base = get(kind, sizes[0], input)
          for (const size of sizes.slice(1)) {
            const cur = get(kind, size, input)
            const flat = kind === 'exact' || kind === 'wildcard'
            rows.push(compareRow({
              name: `3 origin decision (${cache === 'cold' ? 'cold: no memo' : 'warm: memo'})`,
              variant: `${kind}[${size}] ${input}`,
              metric: 'decide()',
              unit: 'ns',
              samples: cur.samples.map(ns),
              baseLabel: `${kind}[${sizes[0]}]`,
              baseSamples: base.samples.map(ns),
              better: 'lower',
              target: flat ? 1.1 : null,
              extraCheck: flat ? { text: '< 200 ns', ok: (v) => v < 200 } : null
            }))
          }
        }
      }
    }
  }
  // long Origins (cold, 100 wildcard entries): the cost must not grow with the Origin's length
  if (res.long) {
    const normal = res.long.find((r) => r.input === 'normal')
    for (const r of res.long.filter((x) => x !== normal)) {
      rows.push(compareRow({
        name: '3 origin decision, long Origin (cold, wildcard[100])',
        variant: `${r.input} refused`,
        metric: 'decide()',
        unit: 'ns',
        samples: r.samples.map(ns),
        baseLabel: 'normal refused',
        baseSamples: normal.samples.map(ns),
        better: 'lower'
      }))
    }
  }
  // contrast: a whole request through fastify.inject(), 1 vs 10,000 exact entries
  const inj = Object.fromEntries(res.inject.map((r) => [r.name, r]))
  const us = (r) => r.samples.map((x) => ({ value: x / 1000 }))
  for (const [v, b] of [['@fastify/cors[10k]', '@fastify/cors[1]'], ['plugin[10k]', 'plugin[1]'], ['@fastify/cors[1]', 'none'], ['plugin[1]', 'none']]) {
    if (!inj[v] || !inj[b]) {
      rows.push(skipRow('3 request via inject, last entry', v, 'us/req', res.pluginReason))
      continue
    }
    rows.push(compareRow({ name: '3 request via inject, last entry', variant: v, metric: 'inject()', unit: 'us', samples: us(inj[v]), baseLabel: b === 'none' ? 'no CORS' : b, baseSamples: us(inj[b]), better: 'lower' }))
  }
  return rows
}
