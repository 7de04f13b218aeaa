// Child-process plumbing for the benchmark harness: spawn a node script pinned
// to one core (taskset), talk to it over IPC with request/response messages.
import { spawn, spawnSync } from 'node:child_process'
import { setImmediate as yieldLoop } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))
export const benchDir = path.resolve(here, '..')

let tasksetChecked = null
export function hasTaskset () {
  if (tasksetChecked === null) {
    const r = spawnSync('taskset', ['-c', '0', 'true'])
    tasksetChecked = r.status === 0
  }
  return tasksetChecked
}

// Spawn `node [nodeArgs] script [args]`, pinned to `core` when taskset exists.
// Returns an RPC handle: call(cmd, payload) -> Promise<result>, ready -> Promise<readyMsg>.
// A server under test (`servers/`) runs with STEADY_HEAP_ARGS unless `steadyHeap: false`.
// BENCH_PROFILE_DIR=dir profiles every server child (node --cpu-prof) into dir.
export function spawnNode (script, { core, args = [], nodeArgs = [], env = {}, steadyHeap = true } = {}) {
  const file = path.isAbsolute(script) ? script : path.join(benchDir, script)
  const server = script.startsWith('servers/')
  const profile = process.env.BENCH_PROFILE_DIR && server
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`, `--cpu-prof-name=${path.basename(script, '.js')}-${args.join('-')}-${Date.now()}.cpuprofile`]
    : []
  const nodeCmd = [...profile, ...(server && steadyHeap ? STEADY_HEAP_ARGS : []), ...nodeArgs, file, ...args]
  let cmd = process.execPath
  let argv = nodeCmd
  if (core !== undefined && hasTaskset()) {
    cmd = 'taskset'
    argv = ['-c', String(core), process.execPath, ...nodeCmd]
  }
  const child = spawn(cmd, argv, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env }
  })
  const pending = new Map()
  let nextId = 1
  let readyResolve, readyReject
  const ready = new Promise((resolve, reject) => { readyResolve = resolve; readyReject = reject })
  ready.catch(() => {}) // one-shot children never announce readiness; callers that await still see it
  let exited = false
  child.on('message', (msg) => {
    if (msg && msg.type === 'ready') return readyResolve(msg)
    if (msg && msg.type === 'reply') {
      const p = pending.get(msg.id)
      if (!p) return
      pending.delete(msg.id)
      if (msg.error) p.reject(new Error(`${path.basename(file)}: ${msg.error}`))
      else p.resolve(msg.result)
    }
  })
  child.on('exit', (code, signal) => {
    exited = true
    const err = new Error(`${path.basename(file)} exited (code ${code}, signal ${signal})`)
    readyReject(err)
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  })
  return {
    child,
    ready,
    call (cmd, payload = {}, timeoutMs = 600_000) {
      if (exited) return Promise.reject(new Error(`${path.basename(file)} is not running`))
      const id = nextId++
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`${path.basename(file)}: ${cmd} timed out after ${timeoutMs} ms`))
        }, timeoutMs)
        pending.set(id, {
          resolve: (v) => { clearTimeout(timer); resolve(v) },
          reject: (e) => { clearTimeout(timer); reject(e) }
        })
        child.send({ type: 'call', id, cmd, payload })
      })
    },
    async stop () {
      if (exited) return
      const done = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const t = setTimeout(() => { if (!exited) child.kill('SIGKILL') }, 5000)
      await done
      clearTimeout(t)
    }
  }
}

// V8 grows the young generation from 1 MiB a semi-space to its maximum, 16 MiB on 64-bit Node 20, as the
// bytes surviving its scavenges add up (v8 src/heap/heap.cc; Node's docs, `--max-semi-space-size`), so
// where a server stands after its warm-up depends on its history: after the same 4,000 requests the
// plugin's server had 4 MiB and the bare 403 hook's 16 MiB, 5 scavenges against 1 a window of 1,000
// requests, about 2.3k instructions a request of difference. Every server under test starts at the
// maximum, where a busy server ends, so that the variants compare their work, not that state (the
// start-up suite measures a start as an app makes it, with V8's defaults).
export const STEADY_HEAP_ARGS = Object.freeze(['--min-semi-space-size=16'])

// Node's slow tick state (docs/benchmarks.md, "A slow state of Node"): `process.nextTick` builds its tick
// object as a literal with two computed symbol keys (node's lib/internal/process/task_queues.js). When a
// full garbage collection finds no tick object alive before nextTick is optimized, it frees the map those
// objects had, the next tick gets a new one, and V8's inline cache for that literal turns megamorphic for
// the process's lifetime: every tick object is then built through V8's runtime, about 200 ns a call
// instead of 30 ns here (35k instructions more per HTTP request, about 20 µs per Socket.IO handshake).
// Whether a start-up hits that depends on where its garbage collections fall (the realtime plugin's
// registration did in 9 of 10 start-ups). A call above SLOW_TICK_NS is in that state.
export const SLOW_TICK_NS = 100

const noop = () => {}

// The cheapest of `rounds` timings of 1,000 nextTick calls, in ns a call (each batch runs before the next).
async function tickCost (rounds = 5) {
  let best = Infinity
  for (let round = 0; round < rounds; round++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < 1000; i++) process.nextTick(noop)
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1000)
    await yieldLoop()
  }
  return best
}

// Called by every server under test before it builds its app, the same in every variant: 5,000 ticks get
// nextTick optimized before any registration's garbage collection can turn its literal megamorphic (9 of
// 9 plugin start-ups stayed in the usual state with it, 1 of 10 without), so that the variants compare
// their own work, not Node's state.
export async function warmNextTick () {
  await tickCost()
}

// Spawns a server with `spawn()` and warms it with `warm(server)`; a server in the slow tick state after
// its warm-up is replaced by a fresh one, up to `attempts` servers in all (the last is kept whatever its
// state). `replaced` counts the servers replaced.
export async function spawnWarmServer (spawn, warm, attempts = 4) {
  for (let attempt = 1; ; attempt++) {
    const server = spawn()
    await warm(server)
    if (attempt === attempts || (await server.call('tickCost')) < SLOW_TICK_NS) return Object.assign(server, { replaced: attempt - 1 })
    await server.stop()
  }
}

// Every server's tick state at the end of its rounds, by label: { ns, slow, replaced }.
export async function tickStates (servers) {
  const states = {}
  for (const [label, server] of Object.entries(servers)) {
    const ns = await server.call('tickCost')
    states[label] = { ns, slow: ns >= SLOW_TICK_NS, replaced: server.replaced ?? 0 }
  }
  return states
}

// Child side: answer calls with the given handlers (and `tickCost`); announce readiness.
export function serve (handlers, readyInfo = {}) {
  process.on('message', async (msg) => {
    if (!msg || msg.type !== 'call') return
    const h = msg.cmd === 'tickCost' ? tickCost : handlers[msg.cmd]
    try {
      if (!h) throw new Error(`unknown command ${msg.cmd}`)
      const result = await h(msg.payload || {})
      process.send({ type: 'reply', id: msg.id, result })
    } catch (err) {
      process.send({ type: 'reply', id: msg.id, error: err && err.stack ? err.stack : String(err) })
    }
  })
  process.on('disconnect', () => process.exit(0))
  process.on('SIGTERM', () => process.exit(0)) // exit normally, so `node --cpu-prof` writes its profile
  process.send({ type: 'ready', pid: process.pid, ...readyInfo })
}

// Load of this process over a window: `cpu` is CPU time (all threads) per wall
// time, as a fraction of one core; `elu` is the event-loop utilisation (the
// share of wall time the loop was not waiting for I/O). On a shared machine a
// process can be saturated (elu ~ 1) while getting well under one core of CPU,
// so a load generator's saturation is judged by max(cpu, elu).
export function cpuMeter () {
  const c0 = process.cpuUsage()
  const e0 = performance.eventLoopUtilization()
  const t0 = process.hrtime.bigint()
  return () => {
    const c = process.cpuUsage(c0)
    const wallUs = Number(process.hrtime.bigint() - t0) / 1000
    const cpu = wallUs > 0 ? (c.user + c.system) / wallUs : 0
    const elu = performance.eventLoopUtilization(e0).utilization
    return { cpu, elu, load: Math.max(cpu, elu), cpuUs: c.user + c.system }
  }
}

// Run a one-shot child script that sends a single result message, then exits.
export function runNode (script, opts = {}) {
  const h = spawnNode(script, opts)
  return new Promise((resolve, reject) => {
    let result
    h.child.on('message', (msg) => { result = msg })
    h.child.on('exit', (code) => {
      if (result !== undefined) resolve(result)
      else reject(new Error(`${script} exited with code ${code} before reporting a result`))
    })
  })
}
