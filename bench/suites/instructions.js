// Issue #10: CPU instructions per request, counted by valgrind's callgrind (`perf stat` counters are
// not available on these machines). An instruction count does not move with what else the machine
// runs, unlike req/s or CPU time. One server process per variant and scenario: a warm-up, a
// checkpoint, n measured requests, a checkpoint; callgrind dumps its counts at each checkpoint (see
// bench/servers/http-counted.js), so one dump holds exactly the n measured requests (plus the one
// checkpoint request, the same in every variant). Requests are sequential on one keep-alive
// connection, sent from this process.
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { benchDir } from '../lib/proc.js'
import { plainRow, skipRow } from '../lib/report.js'
import { ALLOWED_ORIGIN, REFUSED_ORIGIN } from '../lib/plugin.js'

const scenarios = [
  { name: '10 GET allowed (1 exact origin, credentials, 1 exposed header)', method: 'GET', headers: { origin: ALLOWED_ORIGIN }, variants: ['plugin', 'fastify-cors', 'none'], targets: { 'fastify-cors': 0.95, none: 1.1 } },
  { name: '10 granted preflight', method: 'OPTIONS', headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' }, variants: ['plugin', 'fastify-cors', 'none'], targets: { 'fastify-cors': 0.95, none: 1.05 } },
  { name: '10 refused request (403)', method: 'GET', headers: { origin: REFUSED_ORIGIN }, variants: ['plugin', 'hook-403'], targets: { 'hook-403': 1.05 } }
]
const label = { plugin: 'plugin', 'fastify-cors': '@fastify/cors', none: 'no CORS (OPTIONS: plain 204 route)', 'hook-403': 'bare 403 hook' }

function hasValgrind () {
  return spawnSync('valgrind', ['--version']).status === 0
}

/** Sends `n` sequential requests over one keep-alive connection. */
async function load (agent, port, { method = 'GET', headers = {}, url = '/hello' }, n) {
  for (let i = 0; i < n; i++) {
    await new Promise((resolve, reject) => {
      http.request({ host: '127.0.0.1', port, path: url, method, headers, agent }, (res) => { res.resume(); res.on('end', resolve) })
        .on('error', reject).end()
    })
  }
}

/**
 * Instructions per request of one variant on one scenario, in a process of their own: a process that
 * served other scenarios first would be warmer (more of it compiled by V8's optimizing tiers), which
 * moved a count by half in a first version that shared one process per variant.
 */
async function countRun (dir, variant, scenario, warm, n) {
  const out = path.join(dir, `${variant}-${scenarios.indexOf(scenario)}.callgrind`)
  const child = spawn('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', '--dump-before=uv_os_gethostname', `--callgrind-out-file=${out}`,
    process.execPath, path.join(benchDir, 'servers', 'http-counted.js'), variant], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const port = await new Promise((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error(`${variant}: no "listening" line within 180 s`)), 180_000)
    child.stdout.on('data', (chunk) => {
      text += chunk
      const m = /listening (\d+)/.exec(text)
      if (m) { clearTimeout(timer); resolve(Number(m[1])) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${variant}: exited with ${code} before listening`)) })
  })
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  await load(agent, port, scenario, warm)
  await load(agent, port, { url: '/__checkpoint' }, 1)
  await load(agent, port, scenario, n)
  await load(agent, port, { url: '/__checkpoint' }, 1)
  await load(agent, port, { url: '/__exit' }, 1)
  agent.destroy()
  const code = await exited
  if (code !== 0) throw new Error(`${variant}: exited with code ${code}`)
  // Dump 1: start-up and warm-up; dump 2: the n measured requests (and one checkpoint request).
  const summary = /^summary: (\d+)$/m.exec(readFileSync(`${out}.2`, 'utf8'))
  if (!summary) throw new Error(`${variant}: no callgrind summary in ${out}.2`)
  return Number(summary[1]) / n
}

export async function instructionsSuite (ctx) {
  const { quick, pluginReason } = ctx
  const [warm, n] = quick ? [300, 500] : [2000, 3000]
  if (!hasValgrind()) return [skipRow('10 instructions per request', 'plugin', 'instructions/req', 'valgrind not installed (apt-get install valgrind)')]
  if (pluginReason) return [skipRow('10 instructions per request', 'plugin', 'instructions/req', pluginReason)]
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-callgrind-'))
  const rows = []
  try {
    const runs = scenarios.flatMap((scenario) => scenario.variants.map((variant) => ({ scenario, variant })))
    const counts = []
    // Two servers at a time, one per core: the counts do not depend on what runs beside them.
    for (let i = 0; i < runs.length; i += 2) {
      counts.push(...(await Promise.all(runs.slice(i, i + 2).map(async (run) => ({ ...run, perRequest: await countRun(dir, run.variant, run.scenario, warm, n) })))))
    }
    for (const scenario of scenarios) {
      const perRequest = Object.fromEntries(counts.filter((c) => c.scenario === scenario).map((c) => [c.variant, c.perRequest]))
      ctx.details[`instructions:${scenario.name}`] = perRequest
      ctx.log(`  instructions ${scenario.name}: ${JSON.stringify(perRequest)}`)
      for (const [base, target] of Object.entries(scenario.targets)) {
        const ratio = perRequest.plugin / perRequest[base]
        rows.push(plainRow({ name: scenario.name, variant: 'plugin', metric: 'instructions/req', unit: '', value: perRequest.plugin, baseLabel: label[base], base: perRequest[base], target: `<= ${target.toFixed(2)}x`, status: ratio <= target ? 'PASS' : 'MISS' }))
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return rows
}
