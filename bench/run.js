// Benchmark orchestrator: runs every suite, prints ONE table.
//   node bench/run.js [--quick] [--only=http,micro,dynamic,flood,handshake,fanout,memory,scale,topics,startup,instructions] [--json=FILE] [--markdown]
// Each figure is a ratio against a baseline measured in the same run, with the
// same client; servers run pinned to core 0, load generators to core 1.
import os from 'node:os'
import path from 'node:path'
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { hasTaskset, benchDir } from './lib/proc.js'
import { loadPlugin } from './lib/plugin.js'
import { renderTable } from './lib/report.js'
import { httpSuite } from './suites/http.js'
import { microSuite } from './suites/micro.js'
import { floodSuite } from './suites/flood.js'
import { handshakeSuite } from './suites/handshake.js'
import { fanoutSuite } from './suites/fanout.js'
import { memorySuite } from './suites/memory.js'
import { dynamicSuite } from './suites/dynamic.js'
import { startupSuite } from './suites/startup.js'
import { instructionsSuite } from './suites/instructions.js'
import { scaleSuite } from './suites/scale.js'
import { topicsSuite } from './suites/topics.js'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const verbose = args.includes('--verbose') || args.includes('-v')
const markdown = args.includes('--markdown')
const onlyArg = args.find((a) => a.startsWith('--only='))
const jsonArg = args.find((a) => a.startsWith('--json='))
const suites = [
  ['micro', microSuite],
  ['dynamic', dynamicSuite],
  ['flood', floodSuite],
  ['http', httpSuite],
  ['handshake', handshakeSuite],
  ['fanout', fanoutSuite],
  ['memory', memorySuite],
  ['scale', scaleSuite],
  ['topics', topicsSuite],
  ['startup', startupSuite],
  ['instructions', instructionsSuite]
]
const only = onlyArg ? new Set(onlyArg.slice(7).split(',')) : null
for (const name of only || []) {
  if (!suites.some(([n]) => n === name)) {
    console.error(`unknown suite ${name}; suites: ${suites.map(([n]) => n).join(', ')}`)
    process.exit(2)
  }
}

// How busy the machine is outside this harness (shared machines are noisy).
function cpuTimes () {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    const idle = f[3] + (f[4] || 0)
    return { idle, total: f.reduce((a, b) => a + b, 0), steal: f[7] || 0 }
  } catch { return null }
}
function loadAvg () {
  try { return readFileSync('/proc/loadavg', 'utf8').split(' ')[0] } catch { return '?' }
}
async function busyBefore () {
  const a = cpuTimes()
  await sleep(1000)
  const b = cpuTimes()
  if (!a || !b || b.total === a.total) return null
  return { busy: 1 - (b.idle - a.idle) / (b.total - a.total), steal: (b.steal - a.steal) / (b.total - a.total) }
}

const started = Date.now()
const idleCheck = await busyBefore()
const loadStart = loadAvg()
const statStart = cpuTimes()
const log = (msg) => { if (verbose) console.error(msg) }
const { reason: pluginReason } = await loadPlugin()
const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model,
  memGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
  taskset: hasTaskset()
}
const notes = []
if (!machine.taskset) notes.push('taskset not available: server and load generator are NOT pinned to separate cores; results are noisier')
if (machine.cpus < 2) notes.push('fewer than 2 CPUs: server and load generator share a core')
if (pluginReason) notes.push(`plugin variants skipped: ${pluginReason} (run "npm run build")`)

const ctx = { quick, pluginReason, log, details: {}, sioClient: args.includes('--sio-client') }
const rows = []
const failures = []
for (const [name, suite] of suites) {
  if (only && !only.has(name)) continue
  const t0 = Date.now()
  console.error(`[bench] ${name}${quick ? ' (quick)' : ''} ...`)
  try {
    rows.push(...await suite(ctx))
  } catch (err) {
    failures.push(name)
    console.error(`[bench] ${name} failed: ${err.stack || err}`)
    rows.push({ name, variant: '', metric: '', unit: '', value: NaN, base: NaN, ratio: NaN, target: '', status: 'ERROR', note: String(err.message).split('\n')[0] })
  }
  console.error(`[bench] ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}

const elapsed = (Date.now() - started) / 1000
const statEnd = cpuTimes()
machine.background = {
  busyBeforeStart: idleCheck?.busy,
  stealBeforeStart: idleCheck?.steal,
  loadAvgStart: loadStart,
  loadAvgEnd: loadAvg(),
  stealDuringRun: statStart && statEnd ? (statEnd.steal - statStart.steal) / (statEnd.total - statStart.total) : null
}
const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '?')
notes.push(`machine load outside the benchmark: ${pct(idleCheck?.busy)} of all CPUs busy in the second before start (steal ${pct(idleCheck?.steal)}); 1-min load average ${loadStart} at start, ${machine.background.loadAvgEnd} at end; steal during run ${pct(machine.background.stealDuringRun)}`)
console.log('')
console.log(`fastify-cors-io benchmarks (${quick ? 'quick' : 'full'} mode), ${new Date().toISOString()}`)
console.log(`machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.memGiB} GiB, node ${machine.node}; servers on core 0, load generators on core 1${machine.taskset ? '' : ' (NOT pinned)'}`)
for (const n of notes) console.log(`note: ${n}`)
console.log('')
console.log(renderTable(rows, { markdown }))
console.log('')
const count = (s) => rows.filter((r) => r.status === s).length
console.log(`${count('PASS')} PASS, ${count('MISS')} MISS, ${count('INVALID')} INVALID, ${count('SKIP')} SKIP, ${count('ERROR')} ERROR, ${count('INFO')} INFO; ${elapsed.toFixed(0)} s`)

const out = jsonArg ? path.resolve(jsonArg.slice(7)) : path.join(benchDir, 'results', `last-${quick ? 'quick' : 'full'}.json`)
mkdirSync(path.dirname(out), { recursive: true })
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), quick, machine, notes, elapsed, rows, details: ctx.details }, null, 2))
console.log(`raw results: ${path.relative(process.cwd(), out)}`)
// Benchmarks report; they do not gate. Only a harness failure (a suite that
// crashed) makes the exit code non-zero, so CI notices when the scripts rot.
process.exitCode = failures.length ? 1 : 0
