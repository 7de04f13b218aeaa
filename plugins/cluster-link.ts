import { createRequire } from 'node:module'
import type { FastifyBaseLogger } from 'fastify'
import { CorsConfigError } from '../lib/errors.js'
import type { ServerOptions } from 'socket.io'
import type { RealtimeHealth, RealtimeNamespace, RealtimeSocket } from './realtime-types.js'

// socket.io's own copy of socket.io-adapter, wherever the package manager put it.
const { Adapter } = createRequire(createRequire(import.meta.url).resolve('socket.io'))('socket.io-adapter') as typeof import('socket.io-adapter')
type AnyAdapter = InstanceType<typeof Adapter>
/** What socket.io takes as `adapter`: a class, or a function socket.io calls with `new` all the same. */
type AdapterConstructor = NonNullable<ServerOptions['adapter']>
type Namespace = ConstructorParameters<typeof Adapter>[0]

/**
 * The parts of socket.io-adapter's `ClusterAdapter` (`dist/cluster-adapter.js`) that reach the other
 * nodes: every broadcast, room change, disconnect and server-side emit goes through
 * `publishAndReturnOffset()`, every answer to another node through `doPublishResponse()`.
 */
interface ClusterInternals {
  publishAndReturnOffset: (message: unknown) => Promise<string>
  doPublishResponse: (uid: string, response: unknown) => Promise<void>
  serverCount: () => Promise<number>
  persistSession: (session: unknown) => void
  restoreSession: AnyAdapter['restoreSession']
}

/** How often the connection is looked at without any traffic, so an outage is logged (and its end) when it happens. */
const WATCH_MS = 1000
/** One rejection for every publish refused while disconnected: the adapter only logs it (debug) and moves on. */
const DISCONNECTED = new Error('the realtime adapter is disconnected; delivered on this node only')

/** Whether an adapter gives sessions back across nodes, i.e. has its own `persistSession`/`restoreSession`, not the in-memory no-ops. */
export function restoresSessions (adapter: object): boolean {
  const { persistSession, restoreSession } = adapter as Partial<ClusterInternals>
  return persistSession !== Adapter.prototype.persistSession && restoreSession !== Adapter.prototype.restoreSession
}

/**
 * The link of this node to the others, as the host's `adapterReady` tells it. While it is down, the
 * adapter's publishes fail at once: socket.io-adapter's `ClusterAdapter.broadcast()` then delivers to
 * this node's clients (its `catch` before `super.broadcast()`), where the Redis streams adapter would
 * otherwise wait for Redis to number the packet (`XADD` in `@socket.io/redis-streams-adapter`
 * `dist/adapter.js` `doPublish()`) and the Redis client would queue every command until it is back.
 * So nothing is kept per emit during an outage: memory stays flat however long it lasts.
 */
export class ClusterLink {
  readonly #ready: () => boolean
  readonly #log: FastifyBaseLogger
  readonly #timer: NodeJS.Timeout
  #disconnectedAt: number | undefined

  constructor (ready: () => boolean, log: FastifyBaseLogger) {
    this.#ready = ready
    this.#log = log
    this.#timer = setInterval(() => { this.up() }, WATCH_MS).unref()
  }

  /** Reads the connection; logs once when it goes down and once when it comes back. */
  up (): boolean {
    const up = this.#ready() === true
    if (up === (this.#disconnectedAt === undefined)) return up
    if (up) {
      this.#log.info({ disconnectedMs: Date.now() - this.#disconnectedAt! }, 'realtime adapter connected again: broadcasts reach every node again')
      this.#disconnectedAt = undefined
    } else {
      this.#disconnectedAt = Date.now()
      this.#log.error('realtime adapter disconnected (adapterReady() is false): broadcasts reach this node\'s clients only, sessions are not recoverable on other nodes, realtimeHealth() is degraded; this is logged once until it is back')
    }
    return up
  }

  health (): RealtimeHealth {
    return this.up()
      ? { status: 'ok', adapter: 'connected' }
      : { status: 'degraded', adapter: 'disconnected', disconnectedSince: new Date(this.#disconnectedAt!).toISOString() }
  }

  close (): void {
    clearInterval(this.#timer)
    clearInterval(this.#storeTimer)
  }

  #storeTimer: NodeJS.Timeout | undefined

  /**
   * Stores the session of every socket of `namespaces` when it connects, and all of them again every
   * half window. socket.io stores a session only when its socket closes (`dist/socket.js`
   * `_onclose()`), so a node that dies without closing (SIGKILL, the OOM killer, a power cut) would
   * leave its clients nothing to recover on another node. The cost: one write to the adapter (a Redis
   * `SET` with the window as its expiry) per socket per half window.
   */
  storeSessions (namespaces: () => Iterable<RealtimeNamespace>, windowMs: number): (namespace: RealtimeNamespace) => void {
    const store = (socket: RealtimeSocket): void => {
      const { id: sid, pid, rooms, data } = socket as unknown as { id: string, pid: string, rooms: Set<string>, data: unknown }
      socket.nsp.adapter.persistSession({ sid, pid, rooms: [...rooms], data } as Parameters<AnyAdapter['persistSession']>[0])
    }
    this.#storeTimer = setInterval(() => {
      for (const namespace of namespaces()) for (const socket of namespace.sockets.values()) store(socket)
    }, Math.ceil(windowMs / 2)).unref()
    // After the namespace's other `connection` listeners, which join rooms (the dashboard's user room).
    return (namespace) => { namespace.on('connection', (socket) => { queueMicrotask(() => { if (socket.connected) store(socket) }) }) }
  }

  /** The host's adapter class, each instance held back from the other nodes while the link is down. */
  wrap (HostAdapter: AdapterConstructor): AdapterConstructor {
    const link = this
    // A plain function: socket.io calls `new` on it (`dist/namespace.js` `_initAdapter()`), and a
    // constructor that returns an object gives that object.
    return function LinkedAdapter (namespace: Namespace) {
      const adapter = new (HostAdapter as new (namespace: Namespace) => AnyAdapter)(namespace) as AnyAdapter & Partial<ClusterInternals>
      if (typeof adapter.publishAndReturnOffset !== 'function' || typeof adapter.doPublishResponse !== 'function' || typeof adapter.serverCount !== 'function') {
        throw new CorsConfigError('adapterReady', 'needs an adapter built on socket.io-adapter\'s ClusterAdapter (publishAndReturnOffset, doPublishResponse, serverCount), and this adapter is not',
          'use @socket.io/redis-streams-adapter, or remove adapterReady')
      }
      const internals = adapter as AnyAdapter & ClusterInternals
      const { publishAndReturnOffset, doPublishResponse, serverCount, persistSession, restoreSession } = internals
      internals.publishAndReturnOffset = (message) => link.up() ? publishAndReturnOffset.call(adapter, message) : Promise.reject(DISCONNECTED)
      internals.doPublishResponse = (uid, response) => link.up() ? doPublishResponse.call(adapter, uid, response) : Promise.reject(DISCONNECTED)
      // `fetchSockets()` and `serverSideEmit()` with an ack wait for the count before their own timeout starts.
      internals.serverCount = () => link.up() ? serverCount.call(adapter) : Promise.resolve(1)
      // Only an adapter that restores sessions talks to the others for them; another keeps socket.io-adapter's
      // no-ops, so that `restoresSessions()` still tells it apart.
      if (restoresSessions(adapter)) {
        internals.persistSession = (session) => { if (link.up()) persistSession.call(adapter, session) }
        // socket.io and the recovery guard both give a fresh socket when restoring fails.
        internals.restoreSession = (pid, offset) => link.up() ? restoreSession.call(adapter, pid, offset) : Promise.reject(DISCONNECTED)
      }
      return adapter
    } as unknown as AdapterConstructor
  }
}
