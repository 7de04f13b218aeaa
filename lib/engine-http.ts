import { STATUS_CODES } from 'node:http'
import type { CorsAnswer } from './origin-policy.js'

/**
 * Matches request URLs that engine.io serves under `path` (default `/socket.io`), the way
 * engine.io's own `attach()` does: by prefix, trailing slash included.
 */
export function engineUrlMatcher (path: string): (url: string | undefined) => boolean {
  const prefix = `${path.replace(/\/+$/, '')}/`
  return (url) => url !== undefined && url.startsWith(prefix)
}

/**
 * The raw HTTP/1.1 response written on a socket whose upgrade is refused: engine.io itself can only
 * answer 400 there, while RFC 6455 §10.2 asks for 403.
 */
export function rawHttpResponse (answer: CorsAnswer): string {
  const lines = [`HTTP/1.1 ${answer.statusCode} ${STATUS_CODES[answer.statusCode]}`, 'Connection: close', `Content-Length: ${Buffer.byteLength(answer.body)}`]
  for (const [name, value] of Object.entries(answer.headers)) lines.push(`${name}: ${value}`)
  return `${lines.join('\r\n')}\r\n\r\n${answer.body}`
}

/** Something that says when it is gone: an engine.io session, or a raw socket. */
export interface Closable {
  once: (event: 'close', listener: () => void) => unknown
}

/** The open members of a set of closables, and a way to wait (up to a deadline) until none is left. */
export class OpenSet<T extends Closable> {
  readonly #open = new Set<T>()
  #onEmpty: (() => void) | undefined

  add (item: T): void {
    this.#open.add(item)
    item.once('close', () => {
      this.#open.delete(item)
      if (this.#open.size === 0) this.#onEmpty?.()
    })
  }

  /** The members still open, as a snapshot. */
  values (): T[] { return [...this.#open] }

  /** Resolves when the set is empty or at `deadline` (a `Date.now()` value), whichever comes first. */
  async drained (deadline: number): Promise<void> {
    if (this.#open.size === 0) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { this.#onEmpty = undefined; resolve() }, Math.max(0, deadline - Date.now()))
      this.#onEmpty = () => { this.#onEmpty = undefined; clearTimeout(timer); resolve() }
    })
  }
}
