import t from 'tap'
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { CorsConfigError } from '../lib/errors.js'
import { MAX_ORIGINS_FILE_BYTES, resolveRuntimeOptions } from '../lib/runtime-options.js'
import { corsPolicy } from '../plugins/cors.js'
import { ALLOWED, EVIL, logCollector, raw, until, type LogLine } from './helpers/realtime.js'

const OTHER = 'https://other.example'

function tempFile (t: { teardown: (fn: () => void) => void }, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cors-origins-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = join(dir, 'origins.txt')
  writeFileSync(file, content)
  return file
}

/** Replaces the file the way deploy tools do: a new file renamed over the old one. */
function replaceFile (file: string, content: string): void {
  writeFileSync(`${file}.tmp`, content)
  renameSync(`${file}.tmp`, file)
}

async function start (t: { teardown: (fn: () => unknown) => void }, options: Record<string, unknown>): Promise<{ app: FastifyInstance, logs: LogLine[], status: (origin: string) => Promise<number> }> {
  const { logs, stream } = logCollector()
  const app = Fastify({ logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.register(corsPolicy, options)
  app.get('/data', async () => 'data')
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  return { app, logs, status: async (origin) => (await raw(`${base}/data`, { headers: { origin } })).status }
}

const updateBy = (source: string) => (line: LogLine): boolean => line.msg === 'origin allowlist updated' && line.source === source

t.test('SIGHUP reloads the origins file and logs the diff; nothing listens after close', async (t) => {
  const file = tempFile(t, `# the team's origins\n${ALLOWED}\n`)
  const before = process.listenerCount('SIGHUP')
  const { app, logs, status } = await start(t, { originsFile: file, watchOriginsFile: false })
  t.equal(process.listenerCount('SIGHUP'), before + 1)
  t.equal(await status(EVIL), 403)
  writeFileSync(file, `${ALLOWED}, ${EVIL}  # comma-separated works too\n${OTHER}\n`)
  process.kill(process.pid, 'SIGHUP')
  await until(() => logs.some(updateBy('SIGHUP')), 5000, 'the SIGHUP reload line')
  t.match(logs.find(updateBy('SIGHUP')), { added: [EVIL, OTHER], removed: [], level: 30 })
  t.equal(await status(EVIL), 200, 'the reloaded list decides')
  await app.close()
  t.equal(process.listenerCount('SIGHUP'), before, 'the signal listener is gone')
})

t.test('a watched file is reloaded when replaced; a bad or missing file is logged and the old list stays', async (t) => {
  const file = tempFile(t, ALLOWED)
  const { logs, status } = await start(t, { originsFile: file })
  replaceFile(file, `${ALLOWED}\n${EVIL}\n`)
  await until(() => logs.some(updateBy('file watch')), 5000, 'the file watch reload line')
  t.match(logs.find(updateBy('file watch')), { added: [EVIL], removed: [] })
  t.equal(await status(EVIL), 200)

  const failures = (): LogLine[] => logs.filter((line) => line.msg === 'origin allowlist NOT reloaded: the previous list stays')
  replaceFile(file, 'not an origin\n')
  await until(() => failures().length === 1, 5000, 'the refused reload line')
  t.match(failures()[0], { level: 50, source: 'file watch', file, err: { message: /^origins entry "not an origin"/ } })
  t.equal(await status(EVIL), 200, 'the old list still decides')
  t.equal(await status(ALLOWED), 200)

  rmSync(file)
  await until(() => failures().length === 2, 5000, 'the missing file line')
  t.match(failures()[1], { err: { message: /cannot be opened \(ENOENT\)/ } })
  t.equal(await status(EVIL), 200, 'still the old list')
})

t.test('CORS_ORIGINS_FILE names the file when the option does not', async (t) => {
  const file = tempFile(t, EVIL)
  process.env.CORS_ORIGINS_FILE = file
  t.teardown(() => { delete process.env.CORS_ORIGINS_FILE })
  const { app, status } = await start(t, { watchOriginsFile: false })
  t.equal(await status(EVIL), 200)
  t.equal(await status(ALLOWED), 403)
  t.same([...app.originPolicy.config.allowlist.exact], [EVIL])
})

t.test('the runtime options are validated at start-up', async (t) => {
  const file = tempFile(t, ALLOWED)
  const error = (options: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): CorsConfigError => {
    try {
      resolveRuntimeOptions(options, env)
    } catch (caught) {
      if (caught instanceof CorsConfigError) return caught
      throw caught
    }
    throw new Error(`no error for ${JSON.stringify(options)}`)
  }
  t.match(error({ originsFile: file, origins: [ALLOWED] }), { setting: 'originsFile', message: /together with origins/ })
  t.match(error({}, { CORS_ORIGINS_FILE: file, CORS_ORIGINS: ALLOWED }), { setting: 'CORS_ORIGINS_FILE', message: /together with CORS_ORIGINS/ })
  t.match(error({ originsFile: '' }), { setting: 'originsFile', message: /is not a file path/ })
  t.match(error({ originsFile: `${file}.missing` }), { message: /cannot be opened \(ENOENT\)/ })
  const big = tempFile(t, `${ALLOWED}\n`.repeat(Math.ceil(MAX_ORIGINS_FILE_BYTES / ALLOWED.length)))
  t.match(error({ originsFile: big }), { message: /is larger than 65536 bytes/ })
  t.match(error({ watchOriginsFile: 'yes' }), { setting: 'watchOriginsFile' })
  for (const statsOrigins of [0, 10_001, 1.5]) t.match(error({ statsOrigins }), { setting: 'statsOrigins', message: /from 1 to 10000/ })
  t.match(error({ metrics: {} }), { setting: 'metrics', message: /a prom-client Registry/ })
  t.match(error({ metrics: { registry: { registerMetric: () => {} } } }), { setting: 'metrics' })
  t.same(resolveRuntimeOptions({ origins: [ALLOWED] }, { CORS_ORIGINS_FILE: '  ' }).originsFile, undefined, 'a blank variable is unset')
})
