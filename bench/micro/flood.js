// Item 7: a flood of distinct random Origin values through the path the CORS
// hook takes for each request: policy.verdict() (the decision, memoized in the
// bounded decision cache, and for a refusal the 403 body, memoized per origin in
// another bounded map) and policy.logRefusal() (bounded per-origin rate limit),
// in process (pinned to core 0 by the caller, run with --expose-gc).
// Samples RSS/heap and policy.cacheSize while it runs; reports the peaks.
import { loadPlugin } from '../lib/plugin.js'
import { listFor } from '../lib/origins.js'

const countArg = process.argv.find((a) => a.startsWith('--count='))
const COUNT = countArg ? Number(countArg.slice(8)) : 1_000_000
const SAMPLE_EVERY = 10_000
const MiB = 2 ** 20
const DECISION_CACHE_SIZE = 1000 // the default, set explicitly so the check below knows the bound
let logged = 0
const quietLog = { warn () { logged++ } }

const { mod, reason } = await loadPlugin()
if (!mod) {
  process.send({ pluginReason: reason }, () => process.exit(0))
} else {
  // 300 entries: 100 exact, 100 wildcard, 100 RegExp. Every non-exact decision (wildcard and
  // RegExp hits, refusals with their reason) goes through the decision cache.
  const policy = mod.createOriginPolicy({ origins: listFor('mix', 300), credentials: true, decisionCacheSize: DECISION_CACHE_SIZE }, {})
  const hasCache = typeof policy.cacheSize === 'number' && typeof policy.cacheLimit === 'number'
  let seed = 0x9e3779b9
  const rnd = () => { // xorshift32: cheap, deterministic
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5
    return (seed >>> 0).toString(36)
  }
  // Every value is distinct (the counter is part of it); a quarter of each shape:
  // RegExp hits, wildcard hits, near-miss hosts, and junk that is not an origin at all.
  const origin = (i) => {
    const u = `${rnd()}${i.toString(36)}`
    switch (i & 3) {
      case 0: return `https://app-${i}.r${(i >>> 2) % 300 - ((i >>> 2) % 300) % 3 + 2}.example.net`
      case 1: return `https://${u}.w${(i >>> 2) % 300 - ((i >>> 2) % 300) % 3 + 1}.example.org`
      case 2: return `https://${u}.example.com`
      default: return `${u}://${rnd()}`
    }
  }
  global.gc(); global.gc()
  const before = process.memoryUsage()
  let peakRss = before.rss
  let peakHeap = before.heapUsed
  let maxCache = hasCache ? policy.cacheSize : NaN
  let allowed = 0
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < COUNT; i++) {
    const o = origin(i)
    const verdict = policy.verdict('GET', { origin: o })
    if (verdict.decision.allowed) allowed++
    else policy.logRefusal(quietLog, o, verdict.decision, { method: 'GET', url: '/' })
    if (i % SAMPLE_EVERY === SAMPLE_EVERY - 1) {
      const m = process.memoryUsage()
      if (m.rss > peakRss) peakRss = m.rss
      if (m.heapUsed > peakHeap) peakHeap = m.heapUsed
      if (hasCache && policy.cacheSize > maxCache) maxCache = policy.cacheSize
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  global.gc(); global.gc()
  const after = process.memoryUsage()
  process.send({
    pluginReason: null,
    count: COUNT,
    allowed,
    seconds,
    hasCache,
    configuredCacheSize: DECISION_CACHE_SIZE,
    logged,
    cacheLimit: hasCache ? policy.cacheLimit : null,
    maxCache: hasCache ? maxCache : null,
    finalCache: hasCache ? policy.cacheSize : null,
    rssBeforeMiB: before.rss / MiB,
    heapBeforeMiB: before.heapUsed / MiB,
    peakRssMiB: peakRss / MiB,
    peakHeapMiB: peakHeap / MiB,
    rssAfterGcMiB: after.rss / MiB,
    heapAfterGcMiB: after.heapUsed / MiB
  }, () => process.exit(0))
}
