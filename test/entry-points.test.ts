import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'

const run = promisify(execFile)

/**
 * Imports one package entry point by its published name in a fresh Node process (the compiled
 * `dist/`, which `npm test` builds before tap runs) and lists the socket.io/engine.io modules it
 * loaded: CommonJS modules imported from ESM land in `require.cache` (Node's ESM/CJS interop).
 */
async function realtimeModulesLoadedBy (specifier: string): Promise<{ loaded: string[], exports: string[] }> {
  const script = `
    import { createRequire } from 'node:module'
    const entry = await import(${JSON.stringify(specifier)})
    const loaded = Object.keys(createRequire(import.meta.url).cache)
      .filter((file) => /[\\\\/]node_modules[\\\\/](socket\\.io|socket\\.io-adapter|socket\\.io-parser|engine\\.io|engine\\.io-parser|ws)[\\\\/]/.test(file))
    console.log(JSON.stringify({ loaded, exports: Object.keys(entry).sort() }))`
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), timeout: 30_000 })
  return JSON.parse(stdout)
}

t.test('fastify-cors-io/cors gives the CORS plugin without loading socket.io, engine.io or ws', async (t) => {
  const { loaded, exports } = await realtimeModulesLoadedBy('fastify-cors-io/cors')
  t.same(loaded, [], 'no realtime module is loaded')
  t.ok(exports.includes('corsPolicy'), 'corsPolicy is exported')
  t.notOk(exports.includes('realtime'), 'realtime is not exported')
})

t.test('the combined entry point loads socket.io (the control that shows the check above can fail)', async (t) => {
  const { loaded, exports } = await realtimeModulesLoadedBy('fastify-cors-io')
  t.ok(loaded.some((file) => /[\\/]socket\.io[\\/]/.test(file)), 'socket.io is loaded')
  t.ok(loaded.some((file) => /[\\/]engine\.io[\\/]/.test(file)), 'engine.io is loaded')
  t.ok(exports.includes('corsPolicy') && exports.includes('realtime'), 'both plugins are exported')
})
