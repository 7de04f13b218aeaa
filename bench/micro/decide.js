// Item 3: the origin decision alone, in process (pinned to core 0 by the caller).
//  - policy.decide(origin) ns/op for allowlists of 1, 100 and 10,000 entries of
//    each kind (exact, wildcard, RegExp) and a mix, for hits, misses and malformed input,
//    twice: `warm` with the default decision cache (the same 64 inputs call after
//    call, so every non-exact decision after the first comes from the memo: what a
//    repeated origin costs) and `cold` with `decisionCacheSize: 0` (every decision
//    computed: what a never-seen origin costs);
//  - the contrast with @fastify/cors, whose array origin option is scanned entry
//    by entry: the cost of a whole request through fastify.inject() with a
//    1-entry and a 10,000-entry list (same for this plugin, and no CORS at all);
//  - long Origins against 100 wildcard entries, cold (every decision computed, as
//    for a flood of distinct values): a 267-character many-dot Origin (the longest
//    that is decided) and a 60 KB one (refused as too long) vs a normal refused one.
// Prints nothing; sends { decide: [...], long: [...], inject: [...] } to the parent.
import Fastify from 'fastify'
import cors from '@fastify/cors'
import { loadPlugin } from '../lib/plugin.js'
import { median } from '../lib/stats.js'
import { listFor, inputsFor, INPUTS } from '../lib/origins.js'

const quick = process.argv.includes('--quick')
const ROUNDS = quick ? 3 : 9
const SAMPLE_MS = quick ? 12 : 60
const INJECT_SAMPLE_MS = quick ? 150 : 500

function measure (fn, inputs, iterations) {
  let sink = 0
  const mask = inputs.length - 1
  const t0 = process.hrtime.bigint()
  for (let j = 0; j < iterations; j++) {
    if (fn(inputs[j & mask])) sink++
  }
  const ns = Number(process.hrtime.bigint() - t0)
  return { nsPerOp: ns / iterations, sink }
}

function calibrate (fn, inputs) {
  let it = 256
  for (;;) {
    const { nsPerOp } = measure(fn, inputs, it)
    if (nsPerOp * it > 2e6 || it >= 1 << 24) return Math.max(64, Math.round((SAMPLE_MS * 1e6) / nsPerOp))
    it *= 4
  }
}

// warm: the default decision cache; cold: no cache at all, every decision computed
const CACHES = { warm: {}, cold: { decisionCacheSize: 0 } }

async function decideBench (createOriginPolicy) {
  const kinds = ['exact', 'wildcard', 'regexp', 'mix']
  const sizes = { exact: [1, 100, 10_000], wildcard: [1, 100, 10_000], regexp: [1, 100, 10_000], mix: [3, 99, 9_999] }
  const results = []
  for (const kind of kinds) {
    for (const [cache, cacheOptions] of Object.entries(CACHES)) {
      results.push(...decideCases(createOriginPolicy, kind, sizes[kind], cache, cacheOptions))
    }
  }
  return results
}

function decideCases (createOriginPolicy, kind, sizes, cache, cacheOptions) {
  const results = []
  const cases = sizes.map((n) => {
    const policy = createOriginPolicy({ origins: listFor(kind, n), credentials: true, ...cacheOptions }, {})
    if (cache === 'cold' && policy.cacheLimit !== 0) throw new Error(`decisionCacheSize: 0 not honoured (cacheLimit ${policy.cacheLimit})`)
    const fn = (o) => policy.decide(o).allowed
    return { n, policy, fn }
  })
  for (const input of ['hit', 'miss', 'malformed']) {
    const prepared = cases.map((c) => {
      const inputs = inputsFor(kind, c.n, input)
      const check = c.fn(inputs[INPUTS - 1])
      if (input === 'hit' && !check) throw new Error(`${kind}[${c.n}] hit input refused: ${inputs[INPUTS - 1]}`)
      if (input !== 'hit' && check) throw new Error(`${kind}[${c.n}] ${input} input allowed: ${inputs[INPUTS - 1]}`)
      return { ...c, inputs, iterations: calibrate(c.fn, inputs), samples: [] }
    })
    for (let r = 0; r < ROUNDS; r++) {
      for (let j = 0; j < prepared.length; j++) {
        const c = prepared[(j + r) % prepared.length]
        c.samples.push(measure(c.fn, c.inputs, c.iterations).nsPerOp)
      }
    }
    for (const c of prepared) {
      if (cache === 'cold' && c.policy.cacheSize !== 0) throw new Error(`${kind}[${c.n}] cold: ${c.policy.cacheSize} decisions cached`)
      results.push({ kind, cache, size: c.n, input, samples: c.samples, nsPerOp: median(c.samples) })
    }
  }
  return results
}

// Each input of a set differs in one character, so nothing can be shared between them.
const LONG_INPUTS = {
  normal: (k) => `https://evil${k}.example.com`,
  'many-dot 267 chars': (k) => {
    const tail = `.x${k % 10}.example.org`
    return `https://${'a.'.repeat(200).slice(0, 267 - 'https://'.length - tail.length - 1)}b${tail}`
  },
  'many-dot 60 KB': (k) => `https://${'a.'.repeat(30_000)}x${k}.example.org`
}

function longBench (createOriginPolicy) {
  const policy = createOriginPolicy({ origins: listFor('wildcard', 100), decisionCacheSize: 0 }, {})
  const fn = (o) => policy.decide(o).allowed
  const prepared = Object.entries(LONG_INPUTS).map(([input, make]) => {
    const inputs = Array.from({ length: INPUTS }, (_, k) => make(k))
    if (input === 'many-dot 267 chars' && !inputs.every((o) => o.length === 267)) throw new Error('267-char inputs are not 267 characters')
    if (inputs.some(fn)) throw new Error(`long ${input} input allowed`)
    return { input, length: inputs[0].length, inputs, iterations: calibrate(fn, inputs), samples: [] }
  })
  for (let r = 0; r < ROUNDS; r++) {
    for (let j = 0; j < prepared.length; j++) {
      const c = prepared[(j + r) % prepared.length]
      c.samples.push(measure(fn, c.inputs, c.iterations).nsPerOp)
    }
  }
  return prepared.map((c) => ({ input: c.input, length: c.length, samples: c.samples, nsPerOp: median(c.samples) }))
}

async function injectBench (mod) {
  const origin = 'https://e9999.example.com' // last entry of the 10k exact list
  const apps = []
  const mk = async (name, register) => {
    const app = Fastify({ logger: false })
    if (register) await register(app)
    app.get('/hello', async () => ({ hello: 'world' }))
    await app.ready()
    apps.push({ name, app, samples: [] })
  }
  await mk('none', null)
  await mk('@fastify/cors[1]', (app) => app.register(cors, { origin: [origin], credentials: true }))
  await mk('@fastify/cors[10k]', (app) => app.register(cors, { origin: listFor('exact', 10_000), credentials: true }))
  if (mod) {
    await mk('plugin[1]', (app) => app.register(mod.corsPolicy, { origins: [origin], credentials: true }))
    await mk('plugin[10k]', (app) => app.register(mod.corsPolicy, { origins: listFor('exact', 10_000), credentials: true }))
  }
  const once = (app) => app.inject({ method: 'GET', url: '/hello', headers: { origin } })
  for (const a of apps) {
    const res = await once(a.app)
    if (res.statusCode !== 200) throw new Error(`${a.name}: inject answered ${res.statusCode}`)
    for (let i = 0; i < 2000; i++) await once(a.app) // warm-up
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (let j = 0; j < apps.length; j++) {
      const a = apps[(j + r) % apps.length]
      let n = 0
      const t0 = process.hrtime.bigint()
      const limit = BigInt(INJECT_SAMPLE_MS * 1e6)
      while (process.hrtime.bigint() - t0 < limit) { await once(a.app); n++ }
      a.samples.push(Number(process.hrtime.bigint() - t0) / n)
    }
  }
  for (const a of apps) await a.app.close()
  return apps.map((a) => ({ name: a.name, samples: a.samples, nsPerOp: median(a.samples) }))
}

const { mod, reason } = await loadPlugin()
const out = { pluginReason: reason, decide: null, long: null, inject: null }
if (mod) out.decide = await decideBench(mod.createOriginPolicy)
if (mod) out.long = longBench(mod.createOriginPolicy)
out.inject = await injectBench(mod)
process.send(out, () => process.exit(0))
