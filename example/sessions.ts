import { randomBytes } from 'node:crypto'
import type { DemoUser } from './users.js'

export const SESSION_COOKIE = 'session'
export const SESSION_MAX_AGE_SECONDS = 8 * 60 * 60
/** setTimeout's limit (2^31 − 1 ms): a longer delay would fire at once. */
export const SESSION_TTL_LIMIT_SECONDS = Math.floor((2 ** 31 - 1) / 1000)

/** Why a session ended; the page shows it when its sockets are disconnected. */
export type SessionEndReason = 'logged-out' | 'expired'

export interface SessionStoreOptions {
  ttlSeconds?: number
  now?: () => number
  /** Called once per ended session, e.g. to disconnect its live sockets. */
  onEnd?: (id: string, reason: SessionEndReason) => void
}

interface Session {
  user: DemoUser
  expiresAt: number
  timer: NodeJS.Timeout
}

/**
 * In-memory login sessions, keyed by the random id the signed cookie carries. Each session has one
 * expiry timer, so an expired session ends (and `onEnd` runs) when it expires, not at its next use;
 * `close()` clears them all.
 */
export class SessionStore {
  readonly #sessions = new Map<string, Session>()
  readonly #now: () => number
  readonly #onEnd: (id: string, reason: SessionEndReason) => void
  readonly ttlSeconds: number

  constructor ({ ttlSeconds = SESSION_MAX_AGE_SECONDS, now = Date.now, onEnd = () => {} }: SessionStoreOptions = {}) {
    this.ttlSeconds = ttlSeconds
    this.#now = now
    this.#onEnd = onEnd
  }

  create (user: DemoUser): string {
    const id = randomBytes(18).toString('base64url')
    // unref: a pending expiry must not keep the process alive.
    const timer = setTimeout(() => { this.end(id, 'expired') }, this.ttlSeconds * 1000).unref()
    this.#sessions.set(id, { user, expiresAt: this.#now() + this.ttlSeconds * 1000, timer })
    return id
  }

  find (id: string | undefined): DemoUser | undefined {
    if (id === undefined) return undefined
    const session = this.#sessions.get(id)
    if (session === undefined) return undefined
    // The timer may lag behind the clock (a busy event loop): the clock decides.
    if (session.expiresAt <= this.#now()) {
      this.end(id, 'expired')
      return undefined
    }
    return session.user
  }

  end (id: string | undefined, reason: SessionEndReason): void {
    const session = id === undefined ? undefined : this.#sessions.get(id)
    if (session === undefined) return
    clearTimeout(session.timer)
    this.#sessions.delete(id!)
    this.#onEnd(id!, reason)
  }

  close (): void {
    for (const session of this.#sessions.values()) clearTimeout(session.timer)
    this.#sessions.clear()
  }

  get size (): number {
    return this.#sessions.size
  }
}
