// Issue #10: CPU instructions per request and per Socket.IO handshake, counted by valgrind's callgrind
// (`perf stat` counters are not available on these machines). An instruction count does not move with
// what else the machine runs, unlike req/s or CPU time. One server process per variant and scenario: a
// warm-up, then windows of requests (or handshakes) between checkpoints until the counts settle;
// callgrind dumps its counts at each checkpoint (see bench/servers/counted.js), so one dump holds
// exactly one window (plus the one checkpoint request, the same in every variant). Requests and
// handshakes are sequential, sent from this process.
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { benchDir, STEADY_HEAP_ARGS } from '../lib/proc.js'
import { plainRow, skipRow } from '../lib/report.js'
import { ALLOWED_ORIGIN, REFUSED_ORIGIN } from '../lib/plugin.js'
import { eioHandshake, eioPollingHandshake } from '../lib/eio-handshake.js'

// `floor`: a bare hook that sends the plugin's very headers and nothing else does; each row's note says
// where it stands against the same baseline, so that a target below it is seen to be out of reach of
// any CORS layer that sends those headers through Fastify.
// The handshake rows count the main thread only: after thousands of handshakes V8 still recompiles
// parts of socket.io and engine.io on its background threads (TurboFan's graph reducers, concurrent
// marking), which moved the count of all threads by ±15 % between windows of 500 here, while the main
// thread's settled within 2 %. The main thread is what bounds a server's handshakes per second; their
// target, >= 0.97x plain socket.io's handshakes/s, is <= 1/0.97 = 1.03x its instructions.
const httpRow = { kind: 'http', unit: 'instructions/req', threads: 'all', slowTicksPerOperation: 1 }
// A handshake of the plugin's calls the slow tick state's runtime function 3 times in the usual state
// and 20-25 in the slow one (see slowTickCalls), hence its threshold.
const handshakeRow = { kind: 'realtime', unit: 'instructions/handshake (main thread)', threads: 'main', slowTicksPerOperation: 10, variants: ['plugin', 'plain'], targets: { plain: 1 / 0.97 }, targetNote: 'the target >= 0.97x handshakes/s; ' }
const scenarios = [
  { ...httpRow, name: '10 GET allowed (1 exact origin, credentials, 1 exposed header)', method: 'GET', headers: { origin: ALLOWED_ORIGIN }, variants: ['plugin', 'fastify-cors', 'none', 'hook-grant'], floor: 'hook-grant', targets: { 'fastify-cors': 0.95, none: 1.1 } },
  { ...httpRow, name: '10 granted preflight', method: 'OPTIONS', headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' }, variants: ['plugin', 'fastify-cors', 'none', 'hook-preflight'], floor: 'hook-preflight', targets: { 'fastify-cors': 0.95, none: 1.05 } },
  { ...httpRow, name: '10 refused request (403)', method: 'GET', headers: { origin: REFUSED_ORIGIN }, variants: ['plugin', 'hook-403'], targets: { 'hook-403': 1.05 } },
  { ...handshakeRow, name: '4 handshakes (polling->websocket)', handshake: eioPollingHandshake },
  { ...handshakeRow, name: '4 handshakes (websocket)', handshake: eioHandshake, full: true }
]
const label = { plugin: 'plugin', 'fastify-cors': '@fastify/cors', none: 'no CORS (OPTIONS: plain 204 route)', 'hook-403': 'bare 403 hook', 'hook-grant': 'bare hook adding the same 4 headers', 'hook-preflight': 'bare hook answering with the same 6 headers', plain: 'plain socket.io' }
/** Requests (handshakes) per window, and the warm-up before the first; a handshake costs about 8-14 GETs' instructions. */
const plans = {
  http: { quick: { warm: 300, size: 300, maxWindows: 3 }, full: { warm: 4000, size: 1000, maxWindows: 20 } },
  realtime: { quick: { warm: 100, size: 50, maxWindows: 3 }, full: { warm: 2000, size: 500, maxWindows: 12 } }
}

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

/** Makes `n` sequential Socket.IO handshakes to the namespace /admin; a failed one fails the count. */
async function handshakes (port, scenario, n) {
  for (let i = 0; i < n; i++) {
    const result = await scenario.handshake({ url: `http://127.0.0.1:${port}`, ns: '/admin', origin: ALLOWED_ORIGIN })
    if (!result.ok) throw new Error(`${scenario.name}: a handshake failed (${result.error})`)
  }
}

/** Window counts agree when each is within this fraction of their mean. */
const SETTLED_SPREAD = 0.02
const SETTLED_WINDOWS = 3

function windowCount (text, file, n) {
  const summary = /^summary: (\d+)$/m.exec(text)
  if (!summary) throw new Error(`no callgrind summary in ${file}`)
  return Number(summary[1]) / n
}

/**
 * A slow state of Node itself, not of any variant: `process.nextTick` builds its tick object as a
 * literal with two computed (symbol) keys (node's lib/internal/process/task_queues.js), and in some
 * processes V8's feedback for that literal goes megamorphic, after which every tick object is built
 * by V8's runtime (`Runtime_DefineKeyedOwnPropertyInLiteral`, 27 calls and about 35k instructions
 * a GET here, from the first window on, in about 1 of 8 processes of any variant). It is read from
 * the window's call counts: none a request in the usual state; a handshake of the plugin's calls it 3
 * times in the usual state and about 20-25 in the slow one, which the handshake servers reached after
 * about 4,000 handshakes in most processes here, both variants alike.
 */
function slowTickCalls (text) {
  const named = /^c?fn=\((\d+)\) v8::internal::Runtime_DefineKeyedOwnPropertyInLiteral\(/m.exec(text)
  if (!named) return 0
  const call = new RegExp(`^cfn=\\(${named[1]}\\).*\ncalls=(\\d+)`, 'gm')
  let calls = 0
  for (const m of text.matchAll(call)) calls += Number(m[1])
  return calls
}

/**
 * Instructions per request (or handshake) of one variant on one scenario, in a process of their own:
 * a process that served other scenarios first would be warmer (more of it compiled by V8's optimizing
 * tiers), which moved a count by half in a first version that shared one process per variant.
 * After the warm-up, windows of `size` requests or handshakes, each between two checkpoints, until the
 * last three agree within 2 % and ran in one tick state (or `maxWindows`): the first windows after a warm-up still
 * pay for V8 compiling and the heap growing (here: 115k, 109k, 138k, 109k, then 62.7k, 62.5k, 62.0k …
 * instructions a request for the same server), so a fixed window measured that transient, not the
 * steady state a server runs in.
 * The figure is the mean of the settled windows; `spread` is their (max − min) / mean.
 */
async function countRun (dir, variant, scenario, { warm, size, maxWindows }, attempt) {
  const out = path.join(dir, `${variant}-${scenarios.indexOf(scenario)}-${attempt}.callgrind`)
  // With separate threads callgrind writes one file per thread and dump, `<out>.<dump>-<thread>`; the main thread is 01.
  const threads = scenario.threads === 'main' ? ['--separate-threads=yes'] : []
  const child = spawn('valgrind', ['--tool=callgrind', ...threads, '--smc-check=all-non-file', '--dump-before=uv_os_gethostname', `--callgrind-out-file=${out}`,
    process.execPath, ...STEADY_HEAP_ARGS, path.join(benchDir, 'servers', 'counted.js'), scenario.kind, variant], { stdio: ['ignore', 'pipe', 'pipe'] })
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
  const work = (n) => scenario.kind === 'realtime' ? handshakes(port, scenario, n) : load(agent, port, scenario, n)
  await work(warm)
  // Dump 1: start-up and warm-up; dump k + 1: window k (and one checkpoint request, the same in every variant).
  await load(agent, port, { url: '/__checkpoint' }, 1)
  const windows = []
  /** Per window, whether it ran in Node's slow tick state: settled windows share one state. */
  const slowWindows = []
  let settled
  while (settled === undefined && windows.length < maxWindows) {
    await work(size)
    await load(agent, port, { url: '/__checkpoint' }, 1)
    const file = `${out}.${windows.length + 2}${threads.length > 0 ? '-01' : ''}`
    const text = readFileSync(file, 'utf8')
    windows.push(windowCount(text, file, size))
    slowWindows.push(slowTickCalls(text) / size >= scenario.slowTicksPerOperation)
    const last = windows.slice(-SETTLED_WINDOWS)
    const mean = last.reduce((a, b) => a + b, 0) / last.length
    const oneState = new Set(slowWindows.slice(-SETTLED_WINDOWS)).size === 1
    if (last.length === SETTLED_WINDOWS && oneState && last.every((count) => Math.abs(count - mean) <= SETTLED_SPREAD * mean)) settled = mean
  }
  await load(agent, port, { url: '/__exit' }, 1)
  agent.destroy()
  const code = await exited
  if (code !== 0) throw new Error(`${variant}: exited with code ${code}`)
  const last = windows.slice(-SETTLED_WINDOWS)
  const mean = last.reduce((a, b) => a + b, 0) / last.length
  return { perOperation: mean, spread: (Math.max(...last) - Math.min(...last)) / mean, settled: settled !== undefined, windows, slow: slowWindows.at(-1) }
}

/**
 * A count in Node's slow tick state (in its last window) is counted again in a fresh process, once; not
 * in quick mode, whose few windows are still warming up (and may call that runtime function while the
 * ticks' cache is new).
 */
async function countSteady (dir, run, quick) {
  const first = await countRun(dir, run.variant, run.scenario, run.plan, 1)
  if (!first.slow || quick) return { ...run, ...first }
  return { ...run, ...(await countRun(dir, run.variant, run.scenario, run.plan, 2)), slowFirst: first.perOperation }
}

const SLOW_TICK_STATE = 'Node\'s slow tick state (tick objects built by V8\'s runtime)'

function slowTickNote (count) {
  if (count.slow) return `; ${count.variant} in ${SLOW_TICK_STATE}${count.slowFirst === undefined ? '' : ' in two processes'}`
  return count.slowFirst === undefined ? '' : `; ${count.variant} counted in a second process (the first, ${(count.slowFirst / 1000).toFixed(1)}k, was in ${SLOW_TICK_STATE})`
}

export async function instructionsSuite (ctx) {
  const { quick, pluginReason } = ctx
  if (!hasValgrind()) return [skipRow('10 instructions per request and per handshake', 'plugin', 'instructions/req', 'valgrind not installed (apt-get install valgrind)')]
  if (pluginReason) return [skipRow('10 instructions per request and per handshake', 'plugin', 'instructions/req', pluginReason)]
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-callgrind-'))
  const rows = []
  try {
    const counted = scenarios.filter((scenario) => !quick || scenario.full !== true)
    const runs = counted.flatMap((scenario) => scenario.variants.map((variant) => ({ scenario, variant, plan: plans[scenario.kind][quick ? 'quick' : 'full'] })))
    const counts = []
    // Two servers at a time, one per core: the counts do not depend on what runs beside them.
    for (let i = 0; i < runs.length; i += 2) {
      counts.push(...(await Promise.all(runs.slice(i, i + 2).map((run) => countSteady(dir, run, quick)))))
    }
    for (const scenario of counted) {
      const measured = Object.fromEntries(counts.filter((c) => c.scenario === scenario).map((c) => [c.variant, c]))
      ctx.details[`instructions:${scenario.name}`] = measured
      ctx.log(`  instructions ${scenario.name}: ${Object.entries(measured).map(([variant, c]) => `${variant} ${c.windows.map((w) => (w / 1000).toFixed(1)).join(' ')}k`).join('; ')}`)
      const plugin = measured.plugin
      for (const [base, target] of Object.entries(scenario.targets)) {
        const baseline = measured[base]
        const ratio = plugin.perOperation / baseline.perOperation
        const unsettled = [plugin, baseline].filter((c) => !c.settled).length > 0
        // Like is compared with like: two counts in the same tick state decide, in different states they do not.
        const mixed = plugin.slow !== baseline.slow
        const status = unsettled ? (quick ? 'INFO' : 'INVALID') : mixed ? 'INVALID' : ratio <= target ? 'PASS' : 'MISS'
        const floor = measured[scenario.floor]
        const floorNote = floor === undefined ? '' : `; floor (${label[scenario.floor]}) ${(floor.perOperation / 1000).toFixed(1)}k = ${(floor.perOperation / baseline.perOperation).toFixed(2)}x`
        const note = `${scenario.targetNote ?? ''}spread ${(plugin.spread * 100).toFixed(1)} % / ${(baseline.spread * 100).toFixed(1)} % over the last ${SETTLED_WINDOWS} windows of ${plugin.plan.size}${floorNote}${unsettled ? '; not settled within 2 %' : ''}${quick ? '' : [plugin, baseline].map(slowTickNote).join('')}`
        rows.push(plainRow({ name: scenario.name, variant: 'plugin', metric: scenario.unit, unit: '', value: plugin.perOperation, baseLabel: label[base], base: baseline.perOperation, target: `<= ${target.toFixed(2)}x`, status, note }))
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return rows
}
