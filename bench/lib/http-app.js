// The HTTP server variants the benchmarks compare, built on one Fastify app each:
//   none              no CORS at all (OPTIONS answered by a bare 204 route)
//   fastify-cors      bare @fastify/cors with a static string origin
//   plugin            this library's corsPolicy with the same one exact origin
//   fastify-cors-10k  @fastify/cors with an array of 10,000 exact origins
//   plugin-10k        corsPolicy with the same 10,000 exact origins
//   hook-403          no CORS library: a bare onRequest hook that answers a request whose
//                     Origin is not ALLOWED_ORIGIN with a constant 403 JSON body (the floor
//                     for refusing in onRequest instead of serving the route)
import Fastify from 'fastify'
import cors from '@fastify/cors'
import { loadPlugin, exactList, ALLOWED_ORIGIN, REFUSED_ORIGIN } from './plugin.js'

export const EXPOSED_HEADER = 'x-request-id'

export async function buildHttpApp (variant) {
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
    default:
      throw new Error(`unknown variant ${variant}`)
  }
  app.get('/hello', async () => ({ hello: 'world' }))
  return app
}

export { ALLOWED_ORIGIN, REFUSED_ORIGIN }
