import { randomBytes } from 'node:crypto'
import type { DemoUser } from './users.js'

export const SESSION_COOKIE = 'session'
export const SESSION_MAX_AGE_SECONDS = 8 * 60 * 60

interface Session {
  user: DemoUser
  expiresAt: number
}

/** In-memory login sessions, keyed by the random id the signed cookie carries. */
export class SessionStore {
  readonly #sessions = new Map<string, Session>()
  readonly #now: () => number

  constructor (now: () => number = Date.now) {
    this.#now = now
  }

  create (user: DemoUser): string {
    const id = randomBytes(18).toString('base64url')
    this.#sessions.set(id, { user, expiresAt: this.#now() + SESSION_MAX_AGE_SECONDS * 1000 })
    return id
  }

  find (id: string | undefined): DemoUser | undefined {
    if (id === undefined) return undefined
    const session = this.#sessions.get(id)
    if (session === undefined) return undefined
    if (session.expiresAt <= this.#now()) {
      this.#sessions.delete(id)
      return undefined
    }
    return session.user
  }

  delete (id: string | undefined): void {
    if (id !== undefined) this.#sessions.delete(id)
  }

  get size (): number {
    return this.#sessions.size
  }
}
