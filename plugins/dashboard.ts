import type { FastifyBaseLogger } from 'fastify'
import type { ClusterLink } from './cluster-link.js'
import type { Dashboard, DashboardEvents, DashboardPresence, DashboardTarget, RealtimeNamespace, SocketUser } from './realtime-types.js'

type Emitter = Pick<RealtimeNamespace, 'emit'>

/** A typed emitter over a namespace or one of its rooms; the payload goes out as is, no copy. */
function targetOf (emitter: Emitter): DashboardTarget {
  return {
    emit: (event, payload) => {
      // The event map is derived from DashboardEvents, so this call is type-safe by construction.
      (emitter.emit as (event: keyof DashboardEvents, payload: unknown) => boolean)(event, payload)
    }
  }
}

export interface DashboardOptions {
  presenceTimeoutMs: number
  /** The link to the other nodes, when the host told how to watch it (`adapterReady`). */
  link: ClusterLink | undefined
  log: FastifyBaseLogger
}

export function createDashboard (namespace: RealtimeNamespace, options: DashboardOptions): Dashboard {
  const { presenceTimeoutMs, link, log } = options

  /** Every node's sockets, or `undefined` when a node does not answer in time (the adapter's own timeout starts only after it has counted the nodes). */
  const clusterSockets = async () => {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`no answer within presenceTimeoutMs (${presenceTimeoutMs} ms)`)) }, presenceTimeoutMs)
    })
    const sockets = await Promise.race([namespace.timeout(presenceTimeoutMs).fetchSockets(), late]).catch((error: unknown) => {
      log.warn({ err: error }, 'dashboard presence: another node did not answer; showing this node\'s dashboards only')
      return undefined
    })
    clearTimeout(timer)
    return sockets
  }

  const presence = async (): Promise<DashboardPresence> => {
    const cluster = link === undefined || link.up() ? await clusterSockets() : undefined
    const sockets = cluster ?? await namespace.local.fetchSockets()
    const users = new Map<string, { user: SocketUser, sockets: number }>()
    for (const { data: { user } } of sockets) {
      const entry = users.get(user.id)
      if (entry === undefined) users.set(user.id, { user, sockets: 1 })
      else entry.sockets++
    }
    return { users: [...users.values()], scope: cluster === undefined ? 'node' : 'cluster' }
  }

  return Object.freeze({
    namespace,
    broadcast: targetOf(namespace).emit,
    toUser: (id: string) => targetOf(namespace.to(`user:${id}`)),
    toRoom: (name: string) => targetOf(namespace.to(name)),
    presence
  })
}
