// HTTP server under test, one variant per process. Usage: node http.js <variant>
//   none              no CORS at all (OPTIONS answered by a bare 204 route)
//   fastify-cors      bare @fastify/cors with a static string origin
//   plugin            this library's corsPolicy (3-entry mixed allowlist)
//   fastify-cors-10k  @fastify/cors with an array of 10,000 exact origins
//   plugin-10k        corsPolicy with the same 10,000 exact origins
//   hook-403          no CORS library: a bare onRequest hook that answers a request whose
//                     Origin is not ALLOWED_ORIGIN with a constant 403 JSON body (the floor
//                     for refusing in onRequest instead of serving the route)
import Fastify from 'fastify'
import cors from '@fastify/cors'
import { serve, cpuMeter } from '../lib/proc.js'
import { loadPlugin, defaultOrigins, exactList, ALLOWED_ORIGIN, REFUSED_ORIGIN } from '../lib/plugin.js'

const variant = process.argv[2]
// Every variant loads the library (registered only by the plugin variants): how much code a
// process has loaded changes Node's per-request cost by itself (importing this library, or
// an unrelated package such as autocannon, made process.nextTick ~10x dearer and @fastify/cors
// ~6-10 us/request slower in profiles), so the baselines must not be the only lean processes.
const { mod, reason } = await loadPlugin()
const app = Fastify({ logger: false })

switch (variant) {
  case 'none':
    app.options('*', (req, reply) => { reply.code(204).send() })
    break
  case 'fastify-cors':
    await app.register(cors, { origin: ALLOWED_ORIGIN, credentials: true, maxAge: 600 })
    break
  case 'fastify-cors-10k':
    await app.register(cors, { origin: exactList(10_000), credentials: true, maxAge: 600 })
    break
  case 'plugin':
  case 'plugin-10k': {
    if (!mod) throw new Error(reason)
    const origins = variant === 'plugin' ? defaultOrigins() : exactList(10_000)
    await app.register(mod.corsPolicy, { origins, credentials: true, maxAge: 600 })
    break
  }
  case 'hook-403': {
    // the same shape and size as the plugin's 403 body for this origin
    const body = JSON.stringify({ statusCode: 403, code: 'ORIGIN_REFUSED', error: 'Forbidden', reason: 'not-listed', message: `Origin ${JSON.stringify(REFUSED_ORIGIN)} is refused: it is not in the allowlist` })
    app.addHook('onRequest', (request, reply, next) => {
      const origin = request.headers.origin
      if (origin === undefined || origin === ALLOWED_ORIGIN) return next()
      reply.code(403).headers({ 'content-type': 'application/json; charset=utf-8', vary: 'Origin' }).send(body)
    })
    break
  }
  default:
    throw new Error(`unknown variant ${variant}`)
}

app.get('/hello', async () => ({ hello: 'world' }))

await app.listen({ host: '127.0.0.1', port: 0 })
let meter = null
serve({
  cpuStart () { meter = cpuMeter() },
  cpuStop () { return meter ? meter().cpu : NaN }
}, { port: app.server.address().port, variant })
