import { createAdapter } from '@socket.io/redis-streams-adapter'
import type { FastifyBaseLogger } from 'fastify'
import { createClient } from 'redis'
import type { RealtimeOptions } from '../index.js'

export interface ExampleCluster {
  /** The realtime options that put this node in the cluster. */
  options: Pick<RealtimeOptions, 'adapter' | 'adapterReady'>
  close: () => Promise<void>
}

/**
 * The example as one node of several (example/cluster-app.ts): Socket.IO's Redis streams adapter
 * carries every broadcast to the other nodes and keeps sessions recoverable on any of them
 * (docs/scaling.md). Only the cluster entry loads it, so a single node needs no Redis package.
 */
export async function joinCluster (url: string, log: FastifyBaseLogger): Promise<ExampleCluster> {
  const redis = createClient({ url })
  // node-redis emits an `error` per failed reconnect: at debug level, as realtime logs the outage once (adapterReady).
  redis.on('error', log.debug.bind(log))
  await redis.connect()
  log.info({ redis: url.replace(/\/\/[^@]*@/, '//…@') }, 'cluster: Socket.IO on the Redis streams adapter')
  return {
    options: { adapter: createAdapter(redis), adapterReady: () => redis.isReady },
    close: async () => { await redis.close() }
  }
}
