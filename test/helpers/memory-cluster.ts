import { createRequire } from 'node:module'
import type { ServerOptions } from 'socket.io'
import type { ClusterMessage, ClusterResponse, Session } from 'socket.io-adapter'

// socket.io's own copy of socket.io-adapter, as the plugin uses.
const { ClusterAdapter } = createRequire(createRequire(import.meta.url).resolve('socket.io'))('socket.io-adapter') as typeof import('socket.io-adapter')
type Namespace = ConstructorParameters<typeof import('socket.io-adapter').Adapter>[0]

/** What the bus calls on an adapter (protected in socket.io-adapter's types). */
interface Peer {
  node: string
  nsp: { name: string }
  uid: string
  onMessage: (message: ClusterMessage, offset: string) => void
  onResponse: (response: ClusterResponse) => void
}

/**
 * Several Fastify apps of one process as the nodes of a cluster, joined by an in-memory bus in place of
 * Redis: a ClusterAdapter whose publishes reach the other nodes' adapters of the same namespace, on a
 * later tick as over a network. While the bus is `up === false` a publish never settles, as a Redis
 * client queues a command until it reconnects; `pending` counts them.
 */
export class MemoryCluster {
  up = true
  /** Publishes that waited for the bus (each one is memory a real outage would keep). */
  pending = 0
  /** Nodes that get nothing from the bus (a node that stopped answering). */
  readonly deaf = new Set<string>()
  readonly #adapters = new Set<Peer>()
  readonly #sessions = new Map<string, Session>()
  #offset = 0

  /** The adapter class for one node. */
  adapter (node: string): NonNullable<ServerOptions['adapter']> {
    const cluster = this
    const BusAdapter = class extends ClusterAdapter {
      readonly node = node
      constructor (namespace: Namespace) {
        super(namespace)
        cluster.#adapters.add(this as unknown as Peer)
      }

      override close (): void {
        cluster.#adapters.delete(this as unknown as Peer)
      }

      override doPublish (message: ClusterMessage): Promise<string> {
        // Numbered when sent, as Redis numbers stream entries in the order they come.
        const offset = `1-${++cluster.#offset}`
        return cluster.#send(this as unknown as Peer, (peer) => { peer.onMessage(message, offset) }).then(() => offset)
      }

      override doPublishResponse (requester: string, response: ClusterResponse): Promise<void> {
        return cluster.#send(this as unknown as Peer, (peer) => { if (peer.uid === requester) peer.onResponse(response) })
      }

      override serverCount (): Promise<number> {
        return Promise.resolve([...cluster.#adapters].filter((peer) => peer.nsp.name === this.nsp.name).length)
      }

      override persistSession (session: Session): void {
        cluster.#sessions.set(session.pid, session)
      }

      override restoreSession (pid: string): Promise<Session> {
        const session = cluster.#sessions.get(pid)
        cluster.#sessions.delete(pid)
        return session === undefined ? Promise.reject(new Error('no such session')) : Promise.resolve({ ...session, missedPackets: [] })
      }
    }
    return BusAdapter as unknown as NonNullable<ServerOptions['adapter']>
  }

  /** Whether a session of `pid` is stored. */
  hasSession (pid: string): boolean {
    return this.#sessions.has(pid)
  }

  /** The stored session of `pid`, if any. */
  session (pid: string): Session | undefined {
    return this.#sessions.get(pid)
  }

  forget (pid: string): void {
    this.#sessions.delete(pid)
  }

  #send (from: Peer, deliver: (peer: Peer) => void): Promise<void> {
    if (!this.up) {
      this.pending++
      return new Promise(() => {})
    }
    const peers = [...this.#adapters].filter((peer) => peer !== from && peer.nsp.name === from.nsp.name && !this.deaf.has(peer.node))
    return new Promise((resolve) => {
      setImmediate(() => {
        for (const peer of peers) deliver(peer)
        resolve()
      })
    })
  }
}
