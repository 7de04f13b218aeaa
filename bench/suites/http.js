// Items 1 and 2: preflight OPTIONS and simple CORS GET (allowed / refused),
// this plugin vs bare @fastify/cors (static string origin) vs no CORS, plus
// the 10,000-entry allowlist contrast. All server variants run at the same
// time, each in its own process on core 0 (idle while another is loaded);
// the autocannon process on core 1 hits them interleaved, round by round.
import { spawnNode } from '../lib/proc.js'
import { compareRow, skipRow } from '../lib/report.js'
import { ALLOWED_ORIGIN, REFUSED_ORIGIN } from '../lib/plugin.js'

const LAST_OF_10K = 'https://host-9999.example.com'

const scenarios = [
  {
    name: '1 preflight OPTIONS',
    method: 'OPTIONS',
    headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
    variants: ['none', 'fastify-cors', 'plugin'],
    compare: [
      { base: 'fastify-cors', rps: 1.0, p99: 1.0 },
      { base: 'none', rps: 0.9, p99: 1 / 0.9 },
      { variant: 'fastify-cors', base: 'none', rps: null, p99: null }
    ]
  },
  {
    name: '2 GET allowed origin',
    method: 'GET',
    headers: { origin: ALLOWED_ORIGIN },
    variants: ['none', 'fastify-cors', 'plugin'],
    compare: [
      { base: 'fastify-cors', rps: 1.0, p99: 1.0 },
      { base: 'none', rps: null, p99: null },
      { variant: 'fastify-cors', base: 'none', rps: null, p99: null }
    ]
  },
  {
    name: '2 GET refused origin (403)',
    method: 'GET',
    headers: { origin: REFUSED_ORIGIN },
    expectStatus: { plugin: 403, 'hook-403': 403, 'fastify-cors': 200, none: 200 },
    // hook-403: the least a Fastify app can do to refuse in onRequest (constant 403 body),
    // to tell the cost of refusing early from the cost of this plugin's refusal
    variants: ['none', 'fastify-cors', 'plugin', 'hook-403'],
    compare: [
      { base: 'fastify-cors', rps: 1.0, p99: 1.0 },
      { base: 'none', rps: null, p99: null },
      { variant: 'fastify-cors', base: 'none', rps: null, p99: null },
      { base: 'hook-403', rps: null, p99: null },
      { variant: 'hook-403', base: 'fastify-cors', rps: null, p99: null }
    ]
  },
  {
    name: '3 GET allowed, 10k exact list',
    method: 'GET',
    headers: { origin: LAST_OF_10K },
    variants: ['fastify-cors-10k', 'plugin-10k'],
    compare: [
      { variant: 'plugin-10k', base: 'fastify-cors-10k', rps: null, p99: null }
    ]
  }
]

const label = {
  none: 'no CORS',
  'fastify-cors': '@fastify/cors',
  plugin: 'plugin',
  'hook-403': 'bare 403 hook',
  'fastify-cors-10k': '@fastify/cors[10k]',
  'plugin-10k': 'plugin[10k]'
}

export async function httpSuite (ctx) {
  const { quick, pluginReason } = ctx
  const duration = quick ? 0.75 : 3
  const warmup = quick ? 0.5 : 2
  const rounds = quick ? 2 : 5
  const connections = 10
  const rows = []

  const wanted = new Set(scenarios.flatMap((s) => s.variants))
  if (pluginReason) { wanted.delete('plugin'); wanted.delete('plugin-10k') }
  if (quick) wanted.delete('hook-403') // context only; the smoke run stays short
  const servers = {}
  const client = spawnNode('clients/http-load.js', { core: 1 })
  try {
    for (const v of wanted) servers[v] = spawnNode('servers/http.js', { core: 0, args: [v] })
    const ports = {}
    for (const v of wanted) ports[v] = (await servers[v].ready).port
    await client.ready

    for (const sc of scenarios) {
      const variants = sc.variants.filter((v) => wanted.has(v))
      const samples = Object.fromEntries(variants.map((v) => [v, []]))
      const run = async (v, d) => {
        const srv = servers[v]
        await srv.call('cpuStart')
        const r = await client.call('run', { url: `http://127.0.0.1:${ports[v]}/hello`, method: sc.method, headers: sc.headers, duration: d, connections })
        r.serverCpu = await srv.call('cpuStop')
        return r
      }
      for (const v of variants) {
        const r = await run(v, warmup)
        const want = sc.expectStatus?.[v]
        if (want && !r.statusCodes[want]) throw new Error(`${sc.name}/${v}: expected HTTP ${want}, got ${JSON.stringify(r.statusCodes)}`)
        if (r.errors) ctx.log(`  ${sc.name}/${v}: ${r.errors} socket errors in warm-up`)
      }
      for (let round = 0; round < rounds; round++) {
        const order = variants.map((_, i) => variants[(i + round) % variants.length])
        for (const v of order) {
          const r = await run(v, duration)
          samples[v].push(r)
          ctx.log(`  ${sc.name} r${round} ${label[v]}: ${Math.round(r.rps)} req/s p99 ${r.latency.p99} ms client cpu ${(r.cpu * 100).toFixed(0)}% elu ${(r.elu * 100).toFixed(0)}% server cpu ${(r.serverCpu * 100).toFixed(0)}% codes ${JSON.stringify(r.statusCodes)}`)
        }
      }
      ctx.details[`http:${sc.name}`] = samples
      for (const c of sc.compare) {
        const variant = c.variant || 'plugin'
        const vLabel = `${label[variant]}`
        if (!wanted.has('hook-403') && [variant, c.base].includes('hook-403')) continue // not run in quick mode
        if (!samples[variant]) {
          rows.push(skipRow(sc.name, vLabel, 'req/s', pluginReason))
          continue
        }
        const pick = (v, f) => samples[v].map((r) => ({ value: f(r), clientCpu: r.load }))
        rows.push(compareRow({ name: sc.name, variant: vLabel, metric: 'req/s', unit: '', samples: pick(variant, (r) => r.rps), baseLabel: label[c.base], baseSamples: pick(c.base, (r) => r.rps), better: 'higher', target: c.rps }))
        rows.push(compareRow({ name: sc.name, variant: vLabel, metric: 'p99 latency', unit: 'ms', samples: pick(variant, (r) => r.latency.p99), baseLabel: label[c.base], baseSamples: pick(c.base, (r) => r.latency.p99), better: 'lower', target: c.p99 }))
        // server CPU per request: a cost figure less sensitive to a noisy neighbour than req/s
        rows.push(compareRow({ name: sc.name, variant: vLabel, metric: 'server CPU/req', unit: 'us', samples: pick(variant, (r) => (r.serverCpu * 1e6) / r.rps), baseLabel: label[c.base], baseSamples: pick(c.base, (r) => (r.serverCpu * 1e6) / r.rps), better: 'lower', target: null }))
      }
    }
  } finally {
    await Promise.all([client.stop(), ...Object.values(servers).map((s) => s.stop())])
  }
  return rows
}
