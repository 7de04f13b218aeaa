import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'

const run = promisify(execFile)

/**
 * Runs `body` after importing one package entry point by its published name, in a fresh Node
 * process (the compiled `dist/`, which `npm test` builds before tap runs), and lists the CommonJS
 * packages from `watched` it loaded: CommonJS modules imported from ESM or required land in
 * `require.cache` (Node's ESM/CJS interop).
 */
async function packagesLoaded (specifier: string, body = ''): Promise<{ loaded: string[], exports: string[] }> {
  const watched = ['socket.io', 'socket.io-adapter', 'socket.io-parser', 'engine.io', 'engine.io-parser', 'ws', 'tldts', 'safe-regex2']
  const script = `
    import { createRequire } from 'node:module'
    const entry = await import(${JSON.stringify(specifier)})
    ${body}
    const watched = ${JSON.stringify(watched)}
    const loaded = watched.filter((name) => Object.keys(createRequire(import.meta.url).cache)
      .some((file) => file.includes('/node_modules/' + name + '/')))
    console.log(JSON.stringify({ loaded, exports: Object.keys(entry).sort() }))`
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), timeout: 30_000 })
  return JSON.parse(stdout)
}

t.test('fastify-cors-io/cors gives the CORS plugin without loading socket.io, engine.io or ws', async (t) => {
  const { loaded, exports } = await packagesLoaded('fastify-cors-io/cors')
  t.same(loaded, [], 'no realtime module (nor the public suffix list) is loaded')
  t.ok(exports.includes('corsPolicy'), 'corsPolicy is exported')
  t.notOk(exports.includes('realtime'), 'realtime is not exported')
})

t.test('the combined entry point loads socket.io (the control that shows the check above can fail)', async (t) => {
  const { loaded, exports } = await packagesLoaded('fastify-cors-io')
  t.ok(loaded.includes('socket.io'), 'socket.io is loaded')
  t.ok(loaded.includes('engine.io'), 'engine.io is loaded')
  t.ok(exports.includes('corsPolicy') && exports.includes('realtime'), 'both plugins are exported')
})

t.test('the Public Suffix List and the ReDoS check load only for the entries that need them', async (t) => {
  const exact = await packagesLoaded('fastify-cors-io/cors', 'entry.createOriginPolicy({ origins: ["https://a.example.com"] }, {})')
  t.same(exact.loaded, [], 'an exact-only list loads neither')
  const wildcard = await packagesLoaded('fastify-cors-io/cors', 'entry.createOriginPolicy({ origins: ["https://*.example.com"] }, {})')
  t.same(wildcard.loaded, ['tldts'], 'a wildcard loads the public suffix list')
  const pattern = await packagesLoaded('fastify-cors-io/cors', 'entry.createOriginPolicy({ origins: [/^https:\\/\\/app\\.example\\.com$/] }, {})')
  t.same(pattern.loaded, ['tldts', 'safe-regex2'], 'a RegExp loads both')
})
