// Dynamic origins (an `origins` function), in process (pinned to core 0 by the caller):
//  - warm: policy.lookup(origin, request) for 64 origins the function allowed once, so every
//    decision comes from its memo, against a static list's decision of the same 64 origins
//    (exact entries: one Map lookup; a wildcard entry: the decision memo), through the same call;
//  - flood: 100,000 distinct Origins (never seen, each refused) against a counting function
//    under the default rate cap: how many calls it got, over how long.
// Prints nothing; sends { warm: [...], flood: {...} } to the parent.
import { loadPlugin } from '../lib/plugin.js'
import { median } from '../lib/stats.js'

const quick = process.argv.includes('--quick')
const ROUNDS = quick ? 3 : 9
const SAMPLE_MS = quick ? 12 : 60
const INPUTS = 64
const FLOOD = 100_000
const HOST = 'api.example.com'
const request = { headers: { host: HOST } }
const origins = Array.from({ length: INPUTS }, (_, k) => `https://app${k}.tenant.example.org`)

function measure (fn, iterations) {
  let sink = 0
  const mask = INPUTS - 1
  const t0 = process.hrtime.bigint()
  for (let j = 0; j < iterations; j++) {
    if (fn(origins[j & mask])) sink++
  }
  return { nsPerOp: Number(process.hrtime.bigint() - t0) / iterations, sink }
}

function calibrate (fn) {
  let it = 256
  for (;;) {
    const { nsPerOp } = measure(fn, it)
    if (nsPerOp * it > 2e6 || it >= 1 << 24) return Math.max(64, Math.round((SAMPLE_MS * 1e6) / nsPerOp))
    it *= 4
  }
}

async function warmBench (createOriginPolicy) {
  const allowed = new Set(origins)
  const cases = [
    // A cap above the 64 warm-up lookups, which all fall in one second.
    ['dynamic (memo)', createOriginPolicy({ origins: async (origin) => allowed.has(origin), originsCache: { maxLookupsPerSecond: INPUTS }, credentials: true }, {})],
    ['static exact[64]', createOriginPolicy({ origins, credentials: true }, {})],
    ['static wildcard[1] (memo)', createOriginPolicy({ origins: ['https://*.tenant.example.org'], credentials: true }, {})]
  ]
  const prepared = []
  for (const [name, policy] of cases) {
    for (const origin of origins) {
      const decision = await policy.lookup(origin, request)
      if (!decision.allowed) throw new Error(`${name}: ${origin} refused (${decision.reason})`)
    }
    const fn = (origin) => {
      const decision = policy.lookup(origin, request)
      if (decision instanceof Promise) throw new Error(`${name}: a warm decision was a promise`)
      return decision.allowed
    }
    prepared.push({ name, fn, iterations: calibrate(fn), samples: [] })
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (let j = 0; j < prepared.length; j++) {
      const c = prepared[(j + r) % prepared.length]
      c.samples.push(measure(c.fn, c.iterations).nsPerOp)
    }
  }
  return prepared.map((c) => ({ name: c.name, samples: c.samples, nsPerOp: median(c.samples) }))
}

async function floodBench (createOriginPolicy) {
  let calls = 0
  const policy = createOriginPolicy({ origins: async () => { calls++; return false } }, {})
  const cap = policy.resolver.options.maxLookupsPerSecond
  let limited = 0
  const t0 = process.hrtime.bigint()
  for (let chunk = 0; chunk < FLOOD; chunk += 1000) {
    const waiting = []
    for (let k = chunk; k < chunk + 1000; k++) {
      const decision = policy.lookup(`https://f${k}.flood.example`, request)
      if (decision instanceof Promise) waiting.push(decision)
      else if (decision.reason === 'lookup-limited') limited++
    }
    await Promise.all(waiting)
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  // Rate windows are one second each, from the first call.
  const windows = Math.floor(seconds) + 1
  return { count: FLOOD, calls, limited, cap, seconds, windows, stats: policy.resolver.stats }
}

const { mod, reason } = await loadPlugin()
const out = { pluginReason: reason, warm: null, flood: null }
if (mod) {
  out.warm = await warmBench(mod.createOriginPolicy)
  out.flood = await floodBench(mod.createOriginPolicy)
}
process.send(out, () => process.exit(0))
