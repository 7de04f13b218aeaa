// One-shot: import one CORS stack, register it on a Fastify app with one route, listen, report
// the time from process start to listening and the RSS after start, then exit.
//   node startup-app.js fastify-cors | cors-entry | combined-entry
import { pathToFileURL } from 'node:url'
import path from 'node:path'
import { benchDir } from '../lib/proc.js'
import { ALLOWED_ORIGIN } from '../lib/plugin.js'

const variant = process.argv[2]
const dist = (file) => pathToFileURL(path.resolve(benchDir, '..', 'dist', file)).href
const { default: Fastify } = await import('fastify')
let register
switch (variant) {
  case 'fastify-cors': {
    const { default: cors } = await import('@fastify/cors')
    register = (app) => app.register(cors, { origin: ALLOWED_ORIGIN, credentials: true })
    break
  }
  case 'cors-entry':
  case 'combined-entry': {
    const { corsPolicy } = await import(dist(variant === 'cors-entry' ? 'cors.js' : 'index.js'))
    register = (app) => app.register(corsPolicy, { origins: [ALLOWED_ORIGIN], credentials: true })
    break
  }
  default:
    throw new Error(`unknown variant ${variant}`)
}
const app = Fastify({ logger: false })
await register(app)
app.get('/hello', async () => ({ hello: 'world' }))
await app.listen({ host: '127.0.0.1', port: 0 })
// performance.now() counts from the start of this process (Node's timeOrigin).
const startMs = performance.now()
global.gc?.()
const rss = process.memoryUsage().rss
await app.close()
process.send({ startMs, rss })
