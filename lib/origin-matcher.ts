import type { Allowlist } from './allowlist.js'
import { BoundedMap } from './bounded-map.js'

export type AllowReason = 'exact' | 'wildcard' | 'pattern' | 'any'
/**
 * - `absent`: no Origin header (same-origin GET/HEAD, or a non-browser client)
 * - `malformed`: not a serialized origin as browsers send it (`null`, a list, a path, garbage)
 * - `non-canonical`: not what a browser sends, but it normalizes to an allowed origin (`entry`)
 * - `scheme-differs` / `port-differs`: the host is listed (`entry`) with another scheme or port
 * - `not-listed`: well-formed and simply not in the allowlist
 */
export type RefusalReason = 'absent' | 'malformed' | 'non-canonical' | 'scheme-differs' | 'port-differs' | 'not-listed'

export interface OriginAllowed {
  readonly allowed: true
  readonly reason: AllowReason
  /** The allowlist entry that admitted the origin. */
  readonly entry: string
}

export interface OriginRefused {
  readonly allowed: false
  readonly reason: RefusalReason
  /** The entry the origin resembles, when there is one. */
  readonly entry?: string
}

export type OriginDecision = OriginAllowed | OriginRefused

/** A serialized origin as browsers send it: lowercase, no path, no trailing slash ([F14]). */
const SERIALIZED_ORIGIN = /^([a-z][a-z0-9+.-]*):\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::([1-9]\d{0,4}))?$/
const LABELS = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/
const HTTP_PREFIX = /^https?:\/\//i
const DEFAULT_PORT: Readonly<Record<string, string>> = { http: '80', https: '443' }

const ABSENT: OriginRefused = Object.freeze({ allowed: false, reason: 'absent' })
const MALFORMED: OriginRefused = Object.freeze({ allowed: false, reason: 'malformed' })
const NOT_LISTED: OriginRefused = Object.freeze({ allowed: false, reason: 'not-listed' })

/**
 * The compiled allowlist, behind the single origin decision that both plugins use. Exact entries
 * are one Map lookup; every other decision (wildcard, RegExp, refusal and its reason) is computed
 * once per origin and memoized in a bounded cache, so list size and repeated refusals cost nothing.
 * Wildcards cost one lookup per label of the request's host, whatever the list's size.
 * The request's Origin is never normalized before matching ([D3]).
 */
export class OriginMatcher {
  readonly allowlist: Allowlist
  readonly #any: OriginAllowed | undefined
  readonly #exact = new Map<string, OriginAllowed>()
  /** Suffix after the `*` (e.g. `.example.com:8443`) → decision per scheme. */
  readonly #wildcards = new Map<string, { http?: OriginAllowed, https?: OriginAllowed }>()
  readonly #patterns: ReadonlyArray<{ anchored: RegExp, decision: OriginAllowed }>
  /** Exact entries by host, to explain a refusal that differs only in scheme or port. */
  readonly #exactByHost = new Map<string, string[]>()
  readonly #cache: BoundedMap<string, OriginDecision>

  constructor (allowlist: Allowlist, decisionCacheSize: number) {
    this.allowlist = allowlist
    this.#cache = new BoundedMap(decisionCacheSize)
    this.#any = allowlist.any ? allowed('any', '*') : undefined
    for (const origin of allowlist.exact) {
      this.#exact.set(origin, allowed('exact', origin))
      const host = new URL(origin).hostname
      this.#exactByHost.set(host, [...(this.#exactByHost.get(host) ?? []), origin])
    }
    for (const wildcard of allowlist.wildcards) {
      const suffix = wildcard.text.slice(wildcard.text.indexOf('*') + 1)
      const bySchema = this.#wildcards.get(suffix) ?? {}
      bySchema[wildcard.scheme] = allowed('wildcard', wildcard.text)
      this.#wildcards.set(suffix, bySchema)
    }
    this.#patterns = allowlist.patterns.map((pattern) => ({ anchored: pattern.anchored, decision: allowed('pattern', pattern.text) }))
    Object.freeze(this)
  }

  /** How many decisions are memoized now; never above `cacheLimit`. */
  get cacheSize (): number {
    return this.#cache.size
  }

  get cacheLimit (): number {
    return this.#cache.limit
  }

  /** Decides whether a request's `Origin` header value is allowed, and why. */
  decide (origin: string | undefined): OriginDecision {
    if (origin === undefined) return ABSENT
    if (this.#any !== undefined) return this.#any
    const exact = this.#exact.get(origin)
    if (exact !== undefined) return exact
    const cached = this.#cache.get(origin)
    if (cached !== undefined) return cached
    const decision = this.#matchWildcard(origin) ?? this.#matchPattern(origin) ?? this.#explain(origin)
    this.#cache.set(origin, decision)
    return decision
  }

  /** Tries each suffix of the host that starts at a dot: one Map lookup per label. */
  #matchWildcard (origin: string): OriginAllowed | undefined {
    if (this.#wildcards.size === 0) return undefined
    const scheme = origin.startsWith('https://') ? 'https' : origin.startsWith('http://') ? 'http' : undefined
    if (scheme === undefined) return undefined
    const hostStart = scheme.length + 3
    for (let dot = origin.indexOf('.', hostStart); dot !== -1; dot = origin.indexOf('.', dot + 1)) {
      const decision = this.#wildcards.get(origin.slice(dot))?.[scheme]
      if (decision !== undefined && LABELS.test(origin.slice(hostStart, dot))) return decision
    }
    return undefined
  }

  #matchPattern (origin: string): OriginAllowed | undefined {
    if (this.#patterns.length === 0 || !SERIALIZED_ORIGIN.test(origin)) return undefined
    return this.#patterns.find((pattern) => pattern.anchored.test(origin))?.decision
  }

  #matchAny (origin: string): OriginAllowed | undefined {
    return this.#exact.get(origin) ?? this.#matchWildcard(origin) ?? this.#matchPattern(origin)
  }

  /** Why a value that no entry admits is refused. Off the allowed path, so it may allocate. */
  #explain (origin: string): OriginRefused {
    const parts = SERIALIZED_ORIGIN.exec(origin)
    const defaultPort = parts !== null && parts[3] !== undefined && parts[3] === DEFAULT_PORT[parts[1]]
    // A value the URL parser would rewrite (case, default port, `/`, IPv6 form) is not what browsers
    // send; parsing only those keeps the URL parser off the path of ordinary refusals.
    if ((parts === null || defaultPort || parts[2].startsWith('[')) && HTTP_PREFIX.test(origin)) {
      const normalized = normalizeRequestOrigin(origin)
      const resembled = normalized === undefined || normalized === origin ? undefined : this.#matchAny(normalized)
      if (resembled !== undefined) return refused('non-canonical', resembled.entry)
    }
    if (parts === null || defaultPort) return MALFORMED
    const [, scheme, host, port] = parts
    const sameHost = this.#exactByHost.get(host)
    if (sameHost !== undefined) {
      const sameScheme = sameHost.find((entry) => entry.startsWith(`${scheme}://`))
      return sameScheme === undefined ? refused('scheme-differs', sameHost[0]) : refused('port-differs', sameScheme)
    }
    const otherScheme = scheme === 'https' ? 'http' : 'https'
    const flipped = this.#matchAny(`${otherScheme}://${host}${port === undefined ? '' : `:${port}`}`)
    return flipped === undefined ? NOT_LISTED : refused('scheme-differs', flipped.entry)
  }
}

/** A human sentence for logs, 403 bodies and tooling. */
export function describeDecision (origin: string | undefined, decision: OriginDecision): string {
  const shown = origin !== undefined && origin.length > 200 ? `${origin.slice(0, 200)}…` : origin
  const subject = shown === undefined ? 'A request without Origin' : `Origin ${JSON.stringify(shown)}`
  if (decision.allowed) return `${subject} is allowed by entry ${decision.entry}`
  switch (decision.reason) {
    case 'absent': return `${subject} is refused: an Origin header is required here`
    case 'malformed': return `${subject} is refused: it is not a serialized origin (scheme://host[:port], lowercase, no path)`
    case 'non-canonical': return `${subject} is refused: browsers never send this form; it looks like the allowed ${decision.entry}`
    case 'scheme-differs': return `${subject} is refused: its host is listed with another scheme (${decision.entry})`
    case 'port-differs': return `${subject} is refused: its host is listed with another port (${decision.entry})`
    case 'not-listed': return `${subject} is refused: it is not in the allowlist`
  }
}

function allowed (reason: AllowReason, entry: string): OriginAllowed {
  return Object.freeze({ allowed: true, reason, entry })
}

function refused (reason: RefusalReason, entry: string): OriginRefused {
  return Object.freeze({ allowed: false, reason, entry })
}

/** The origin a URL-ish value would serialize to, if it is an http(s) origin with at most a bare `/` path. */
function normalizeRequestOrigin (value: string): string | undefined {
  // canParse first: a thrown TypeError (with its stack) would cost microseconds per junk Origin.
  if (!URL.canParse(value)) return undefined
  const url = new URL(value)
  const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === ''
  return bare && (url.protocol === 'https:' || url.protocol === 'http:') ? url.origin : undefined
}
