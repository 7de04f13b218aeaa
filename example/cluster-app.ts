import type { FastifyInstance, FastifyPluginOptions } from 'fastify'
import fp from 'fastify-plugin'
import exampleApp from './app.js'
import { joinCluster } from './cluster.js'

/** `realtimeHealth()` as a readiness answer: a load balancer takes a node that cannot reach the others out. */
const READY_STATUS = Object.freeze({ ok: 200, degraded: 503 })

/**
 * The example as one node of several, on the Redis at `REDIS_URL`:
 * `REDIS_URL=redis://127.0.0.1:6379 fastify start -l info dist/example/cluster-app.js` (docs/scaling.md).
 */
async function clusterExample (fastify: FastifyInstance, _options: FastifyPluginOptions) {
  const cluster = await joinCluster(String(process.env.REDIS_URL), fastify.log)
  fastify.addHook('onClose', cluster.close)
  await fastify.register(exampleApp, { realtime: cluster.options })
  fastify.get('/api/ready', async (_request, reply) => {
    const health = fastify.realtimeHealth()
    return reply.code(READY_STATUS[health.status]).send(health)
  })
}

export default fp(clusterExample, { name: 'fastify-cors-io-cluster-example', fastify: '5.x' })
