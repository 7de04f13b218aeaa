// Dynamic origins: a memoized decision of an `origins` function against a static list's, and the
// function's call count under a flood of 100,000 distinct Origins (runs bench/micro/dynamic.js on core 0).
import { runNode } from '../lib/proc.js'
import { compareRow, plainRow, skipRow } from '../lib/report.js'

const ns = (x) => ({ value: x })

export async function dynamicSuite (ctx) {
  const res = await runNode('micro/dynamic.js', { core: 0, args: ctx.quick ? ['--quick'] : [] })
  ctx.details.dynamic = res
  if (!res.warm) return [skipRow('origins function', 'policy.lookup()', 'ns/op', res.pluginReason)]
  const dynamic = res.warm.find((r) => r.name.startsWith('dynamic'))
  const rows = res.warm.filter((r) => r !== dynamic).map((base) => compareRow({
    name: 'origins function, warm decision',
    variant: dynamic.name,
    metric: 'lookup()',
    unit: 'ns',
    samples: dynamic.samples.map(ns),
    baseLabel: base.name,
    baseSamples: base.samples.map(ns),
    better: 'lower',
    target: 1.1
  }))
  const f = res.flood
  const bound = f.cap * f.windows
  rows.push(plainRow({
    name: `origins function, flood (${f.count / 1000}k distinct Origins)`,
    variant: 'calls of the function',
    metric: 'calls',
    unit: '',
    value: f.calls,
    baseLabel: `cap ${f.cap}/s × ${f.windows} window(s)`,
    base: bound,
    target: '<= cap per window',
    status: f.calls <= bound && f.calls + f.limited === f.count ? 'PASS' : 'MISS',
    note: `${(f.calls / f.seconds).toFixed(1)} calls/s over ${f.seconds.toFixed(2)} s, ${f.limited} refused by the cap, ${Math.round(f.count / f.seconds / 1000)}k decisions/s`
  }))
  return rows
}
