import { STATUS_CODES } from 'node:http'

/** A response that ends an engine.io request before engine.io sees it. */
export interface HttpAnswer {
  readonly statusCode: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * The URL prefix engine.io serves for `path`, exactly as engine.io `lib/server.ts` `_computePath()`
 * builds it: one trailing slash removed, then `/` appended unless `addTrailingSlash` is `false`
 * (then `/socket.io?EIO=4…` is served too). Requests are matched against it the way engine.io
 * `attach()` `check()` does: a prefix comparison of the raw URL.
 */
export function enginePrefix (path: string, addTrailingSlash = true): string {
  const trimmed = path.replace(/\/$/, '')
  return addTrailingSlash ? `${trimmed}/` : trimmed
}

/**
 * Whether the query has the key `j`, which makes engine.io answer polling with JSONP (engine.io
 * `lib/server.ts` picks `polling-jsonp` when `"j" in req._query`). engine.io parses the query with
 * URLSearchParams, which percent-decodes keys, so `%6A`/`%6a` count too.
 */
const JSONP_KEY = /[?&](?:j|%6[aA])(?:[=&#]|$)/
/** A non-empty `sid`: the request belongs to an existing engine.io session. */
const SESSION_ID = /[?&]sid=[^&#]/

/** Only the search part is looked at, and only for URLs already known to be engine.io's. */
export function hasJsonpKey (url: string): boolean {
  const query = url.indexOf('?')
  return query !== -1 && JSONP_KEY.test(url.slice(query))
}

export function hasSessionId (url: string): boolean {
  const query = url.indexOf('?')
  return query !== -1 && SESSION_ID.test(url.slice(query))
}

/**
 * The raw HTTP/1.1 response written on a socket whose upgrade is refused: engine.io itself can only
 * answer 400 there, while RFC 6455 §4.2.2 lets the server answer any status (403 for a refused Origin,
 * §10.2; 426 for an unsupported version, §4.4).
 */
export function rawHttpResponse (answer: HttpAnswer): string {
  const lines = [`HTTP/1.1 ${answer.statusCode} ${STATUS_CODES[answer.statusCode]}`, 'Connection: close', `Content-Length: ${Buffer.byteLength(answer.body)}`]
  for (const [name, value] of Object.entries(answer.headers)) lines.push(`${name}: ${value}`)
  return `${lines.join('\r\n')}\r\n\r\n${answer.body}`
}

/** Something that says when it is gone: an engine.io session, or a raw socket. */
export interface Closable {
  on: (event: 'close', listener: () => void) => unknown
}

/** The open members of a set of closables, and a way to wait (up to a deadline) until none is left. */
export class OpenSet<T extends Closable> {
  readonly #open = new Set<T>()
  #onEmpty: (() => void) | undefined
  /**
   * One listener for every member (an EventEmitter calls it with the member as `this`), added with
   * `on`: each member closes once, and neither a closure nor `once`'s wrapper is kept per member
   * (about 200 bytes of every idle connection).
   */
  readonly #onClose = this.#closeListener()

  add (item: T): void {
    this.#open.add(item)
    item.on('close', this.#onClose)
  }

  #closeListener (): (this: T) => void {
    const open = this.#open
    const emptied = (): void => { if (open.size === 0) this.#onEmpty?.() }
    return function (this: T) {
      open.delete(this)
      emptied()
    }
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
