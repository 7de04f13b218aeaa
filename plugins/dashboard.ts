import type { FastifyBaseLogger } from 'fastify'
import { AlertLog } from '../lib/alert-log.js'
import { TopicCoalescer } from '../lib/coalescer.js'
import { DASHBOARD_EVENTS } from '../lib/protocol.js'
import type { ClusterLink } from './cluster-link.js'
import type { Dashboard, DashboardEvents, DashboardPresence, DashboardTarget, RealtimeNamespace, RealtimeSocket, SocketUser } from './realtime-types.js'

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

export interface DashboardSettings {
  /** The shortest time between two sends of a topic, in ms. */
  topicIntervalMs: (topic: string) => number
  maxTopics: number
  alertBacklog: number
}

/** Socket.IO's EVENT packet type (socket.io-parser `PacketType.EVENT`). */
const EVENT = 2

export function createDashboard (namespace: RealtimeNamespace, options: DashboardOptions & DashboardSettings): { dashboard: Dashboard, close: () => void } {
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

  const topics = new TopicCoalescer<unknown>({
    intervalMs: options.topicIntervalMs,
    maxTopics: options.maxTopics,
    // Through the adapter, as `namespace.emit()` does (socket.io `dist/broadcast-operator.js` emit()), so
    // an adapter reaches the other nodes' clients; but with `volatile: false`: the session-aware adapters
    // store every packet whose `volatile` flag is undefined for connection-state recovery
    // (socket.io-adapter `dist/in-memory-adapter.js` SessionAwareAdapter.broadcast(), `dist/cluster-adapter.js`),
    // so a recovered client would be replayed every stale value it missed. `false` is not volatile for
    // the write (socket.io `dist/client.js` writeToEngine() drops only `volatile: true` packets), so no
    // value is dropped; the snapshot on connection gives a recovered client the current values instead.
    send: (topic, value) => {
      namespace.adapter.broadcast({ type: EVENT, data: [topic, value], nsp: namespace.name }, { rooms: new Set(), except: new Set(), flags: { volatile: false } })
    }
  })
  const alerts = new AlertLog(options.alertBacklog)

  // One listener shared by every socket (socket.io calls it with the socket as `this`), not a closure each.
  function onAck (this: RealtimeSocket, payload: unknown): void {
    const ack = alerts.acknowledge((payload as { id?: unknown } | null)?.id, this.data.user.id)
    if (ack !== undefined) namespace.emit(DASHBOARD_EVENTS.acked, ack)
  }
  namespace.on('connection', (socket) => {
    // The current value of every topic at once, then the backlog (when there is one, so a dashboard of
    // an app that raises no alert gets no extra packet): a new dashboard shows data at once.
    const emit = socket.emit as (event: string, payload: unknown) => boolean
    for (const [topic, value] of topics.current()) emit.call(socket, topic, value)
    const backlog = alerts.list()
    if (backlog.length > 0) socket.emit(DASHBOARD_EVENTS.alerts, backlog)
    socket.on(DASHBOARD_EVENTS.ack, onAck)
  })

  const dashboard: Dashboard = {
    namespace,
    broadcast: targetOf(namespace).emit,
    toUser: (id: string) => targetOf(namespace.to(`user:${id}`)),
    toRoom: (name: string) => targetOf(namespace.to(name)),
    presence,
    publish: (topic, value) => { topics.publish(topic, value) },
    alert: (input) => {
      const alert = alerts.add(input)
      namespace.emit(DASHBOARD_EVENTS.alert, alert)
      return alert
    }
  }
  return { dashboard: Object.freeze(dashboard), close: () => { topics.close() } }
}
