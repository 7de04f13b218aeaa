// The HTTP server variants the benchmarks compare, built on one Fastify app each:
//   none              no CORS at all (OPTIONS answered by a bare 204 route)
//   fastify-cors      bare @fastify/cors with a static string origin
//   plugin            this library's corsPolicy with the same one exact origin
//   fastify-cors-10k  @fastify/cors with an array of 10,000 exact origins
//   plugin-10k        corsPolicy with the same 10,000 exact origins
//   hook-403          no CORS library: a bare onRequest hook that answers a request whose
//                     Origin is not ALLOWED_ORIGIN with a constant 403 JSON body (the floor
//                     for refusing in onRequest instead of serving the route)
//   hook-grant        no CORS library: a bare onRequest hook that adds the four headers the plugin
//                     sends on an allowed GET (the floor for any CORS layer sending them)
//   hook-preflight    no CORS library: a bare onRequest hook that answers every OPTIONS with 204 and
//                     the six headers of the plugin's granted preflight (the floor for answering it)
import Fastify from 'fastify'
import cors from '@fastify/cors'
import { loadPlugin, exactList, ALLOWED_ORIGIN, REFUSED_ORIGIN } from './plugin.js'
import { warmNextTick } from './proc.js'

export const EXPOSED_HEADER = 'x-request-id'
// What corsPolicy sends for the 'plugin' variant's configuration, written out for the floor variants.
const GRANT = Object.freeze({ 'access-control-allow-origin': ALLOWED_ORIGIN, 'access-control-allow-credentials': 'true', 'access-control-expose-headers': EXPOSED_HEADER, vary: 'Origin' })
const PREFLIGHT = Object.freeze({
  'access-control-allow-origin': ALLOWED_ORIGIN,
  'access-control-allow-credentials': 'true',
  vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
  'access-control-allow-methods': 'GET, HEAD, PUT, PATCH, POST, DELETE',
  'access-control-allow-headers': 'Content-Type, Authorization',
  'access-control-max-age': '600'
})

export async function buildHttpApp (variant) {
  await warmNextTick()
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
      await app.register(cors, { origin: ALLOWED_ORIGIN, credentials: true, maxAge: 600, exposedHeaders: [EXPOSED_HEADER] })
      break
    case 'fastify-cors-10k':
      await app.register(cors, { origin: exactList(10_000), credentials: true, maxAge: 600, exposedHeaders: [EXPOSED_HEADER] })
      break
    case 'plugin':
    case 'plugin-10k': {
      if (!mod) throw new Error(reason)
      const origins = variant === 'plugin' ? [ALLOWED_ORIGIN] : exactList(10_000)
      await app.register(mod.corsPolicy, { origins, credentials: true, maxAge: 600, exposedHeaders: [EXPOSED_HEADER] })
      break
    }
    case 'hook-403': {
      // the same shape and size as the plugin's 403 body for this origin
      const body = JSON.stringify({ statusCode: 403, code: 'ORIGIN_REFUSED', error: 'Forbidden', message: 'Origin not allowed' })
      app.addHook('onRequest', (request, reply, next) => {
        const origin = request.headers.origin
        if (origin === undefined || origin === ALLOWED_ORIGIN) return next()
        reply.code(403).headers({ 'content-type': 'application/json; charset=utf-8', vary: 'Origin' }).send(body)
      })
      break
    }
    case 'hook-grant':
      app.addHook('onRequest', (request, reply, next) => {
        reply.headers(GRANT)
        next()
      })
      break
    case 'hook-preflight':
      app.addHook('onRequest', (request, reply, next) => {
        if (request.method !== 'OPTIONS') return next()
        reply.code(204).headers(PREFLIGHT).send('')
      })
      break
    default:
      throw new Error(`unknown variant ${variant}`)
  }
  app.get('/hello', async () => ({ hello: 'world' }))
  return app
}

export { ALLOWED_ORIGIN, REFUSED_ORIGIN }
