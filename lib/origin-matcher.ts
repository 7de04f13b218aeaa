import type { Allowlist } from './allowlist.js'
import { BoundedMap } from './bounded-map.js'
import { publicSuffixOf, registrableDomainOf } from './public-suffix.js'

export type AllowReason = 'exact' | 'wildcard' | 'pattern' | 'any' | 'dynamic'
/**
 * - `absent`: no Origin header (same-origin GET/HEAD, or a non-browser client)
 * - `too-long`: longer than any origin can be (`MAX_ORIGIN_LENGTH`); refused before any other work
 * - `malformed`: not a serialized origin as browsers send it (`null`, a list, a path, garbage)
 * - `non-canonical`: not what a browser sends, but it normalizes to an allowed origin (`entry`)
 * - `scheme-differs` / `port-differs`: the host is listed (`entry`) with another scheme or port
 * - `not-listed`: well-formed and simply not in the allowlist
 * - `foreign-domain`: a wildcard or RegExp (`entry`) matches it, but its registrable domain is not the
 *   one the entry names (a public suffix below the wildcard's domain, or a domain the RegExp does not
 *   write out), so whoever registered that domain controls it
 * - `lookup-failed`: an `origins` function threw, rejected, answered late or not with a boolean (`detail`)
 * - `lookup-limited`: an `origins` function would have been called more often than its rate cap allows
 */
export type RefusalReason = 'absent' | 'too-long' | 'malformed' | 'non-canonical' | 'scheme-differs' | 'port-differs' | 'not-listed' | 'foreign-domain' |
  'lookup-failed' | 'lookup-limited'

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
  /** For `lookup-failed`: what went wrong with the `origins` function. */
  readonly detail?: string
}

export type OriginDecision = OriginAllowed | OriginRefused

/** The wildcard decisions for one suffix (e.g. `.example.com:8443`), per scheme. */
export interface WildcardSchemes {
  http?: OriginAllowed
  https?: OriginAllowed
}

/** What `matchWildcard` needs of the suffix table: a lookup (a `Map` is one). */
export interface WildcardSuffixes {
  get: (suffix: string) => WildcardSchemes | undefined
}

/**
 * The longest serialized origin there can be: `https://`, a DNS name of at most 255 octets on the
 * wire (RFC 1035 §2.3.4), i.e. 253 characters of text, and `:65535`. Anything longer is refused
 * before it becomes a cache key or reaches a RegExp: over HTTP/2 a client can send ~60 KB values.
 */
export const MAX_ORIGIN_LENGTH = 'https://'.length + 253 + ':65535'.length

/**
 * Shaped like a serialized origin (the `Origin` header ABNF, https://fetch.spec.whatwg.org/#origin-header):
 * a lowercase scheme; a host of the lowercase ASCII characters the URL parser keeps in a domain
 * (https://url.spec.whatwg.org/#forbidden-domain-code-point), or a bracketed IPv6; a port without
 * leading zeros; no path, no trailing slash. A superset of what browsers send:
 * `isSerializedHttpOrigin` settles the rest where a decision depends on it.
 */
const SERIALIZED_ORIGIN = /^([a-z][a-z0-9+.-]*):\/\/([a-z0-9!"$&'()*+,;=_`{}~.-]+|\[[0-9a-f:.]+\])(?::(0|[1-9]\d{0,4}))?$/
const LABELS = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/
/**
 * Top-level domains reserved so that no one can register under them (RFC 2606 §2, RFC 6761 §6.2–6.5):
 * like IP addresses and single-label names, their hosts need not be named by a RegExp.
 */
const SPECIAL_USE_TLDS = new Set(['example', 'invalid', 'localhost', 'test'])
/** What may precede or follow a name written in a RegExp's source without making it part of a longer name. */
const NAME_CONTINUES_BEFORE = /[a-z0-9_\\-]$/
const NAME_CONTINUES_AFTER = /^\.?[a-z0-9_-]/
const HTTP_PREFIX = /^https?:\/\//i
const DEFAULT_PORT: Readonly<Record<string, string>> = { http: '80', https: '443' }

const ABSENT: OriginRefused = Object.freeze({ allowed: false, reason: 'absent' })
const TOO_LONG: OriginRefused = Object.freeze({ allowed: false, reason: 'too-long' })
const MALFORMED: OriginRefused = Object.freeze({ allowed: false, reason: 'malformed' })
const NOT_LISTED: OriginRefused = Object.freeze({ allowed: false, reason: 'not-listed' })

/**
 * The compiled allowlist, behind the single origin decision that both plugins use. Exact entries
 * are one Map lookup; every other decision (wildcard, RegExp, refusal and its reason) is computed
 * once per origin and memoized in a bounded cache, so list size and repeated refusals cost nothing.
 * Wildcards cost at most one lookup per label of the longest wildcard suffix, whatever the list's
 * size and the Origin's length. The request's Origin is never normalized before matching: the
 * Fetch standard's CORS check compares it byte for byte (https://fetch.spec.whatwg.org/#concept-cors-check).
 */
export class OriginMatcher {
  readonly allowlist: Allowlist
  readonly #any: OriginAllowed | undefined
  readonly #exact = new Map<string, OriginAllowed>()
  /** Suffix after the `*` (e.g. `.example.com:8443`) → decision per scheme. */
  readonly #wildcards = new Map<string, WildcardSchemes>()
  /** The longest suffix in `#wildcards`, and the most labels (dots) one has. */
  readonly #maxSuffixLength: number = 0
  readonly #maxSuffixLabels: number = 0
  readonly #patterns: ReadonlyArray<{ anchored: RegExp, literal: string, decision: OriginAllowed, foreign: OriginRefused }>
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
      this.#maxSuffixLength = Math.max(this.#maxSuffixLength, suffix.length)
      this.#maxSuffixLabels = Math.max(this.#maxSuffixLabels, suffix.split('.').length - 1)
    }
    this.#patterns = allowlist.patterns.map((pattern) =>
      ({ anchored: pattern.anchored, literal: pattern.literal, decision: allowed('pattern', pattern.text), foreign: refused('foreign-domain', pattern.text) }))
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
    if (origin.length > MAX_ORIGIN_LENGTH) return TOO_LONG
    const exact = this.#exact.get(origin)
    if (exact !== undefined) return exact
    const cached = this.#cache.get(origin)
    if (cached !== undefined) return cached
    const decision = this.#match(origin) ?? this.#explain(origin)
    this.#cache.set(origin, decision)
    return decision
  }

  /**
   * The entry that admits `origin`; else the `foreign-domain` refusal of an entry that matches it
   * but does not name its registrable domain; else undefined.
   */
  #match (origin: string): OriginDecision | undefined {
    const exact = this.#exact.get(origin)
    if (exact !== undefined) return exact
    const wildcard = this.#wildcards.size === 0 ? undefined : matchWildcard(origin, this.#wildcards, this.#maxSuffixLength, this.#maxSuffixLabels)
    if (wildcard?.allowed === true) return wildcard
    const pattern = this.#matchPattern(origin)
    return pattern?.allowed === true ? pattern : wildcard ?? pattern
  }

  #matchPattern (origin: string): OriginDecision | undefined {
    if (this.#patterns.length === 0 || !SERIALIZED_ORIGIN.test(origin)) return undefined
    let foreign: OriginRefused | undefined
    let domain: string | null | undefined
    for (const pattern of this.#patterns) {
      if (!pattern.anchored.test(origin)) continue
      // A RegExp cannot tell a default or out-of-range port, or a non-http scheme, from a real origin;
      // the URL parser can. Asked only once a RegExp matched, so refusals never pay for it.
      if (domain === undefined) domain = isSerializedHttpOrigin(origin) ? domainToName(origin) : null
      if (domain === null) return undefined
      if (domain === '' || namesDomain(pattern.literal, domain)) return pattern.decision
      foreign ??= pattern.foreign
    }
    return foreign
  }

  #matchAny (origin: string): OriginAllowed | undefined {
    const decision = this.#match(origin)
    return decision?.allowed === true ? decision : undefined
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

/**
 * The wildcard entry that admits `origin`, if any: `origin` must end with a suffix of `suffixes`
 * (`.example.com`, `.example.com:8443`) for its scheme, and what lies between `scheme://` and the
 * suffix must be one or more labels of `[a-z0-9-]`.
 *
 * Linear in the Origin's length whatever the entries: only the dots of the last `maxSuffixLength`
 * characters can start a listed suffix, and only the `maxSuffixLabels` rightmost of them, so there
 * are at most `maxSuffixLabels` lookups of at most `maxSuffixLength` characters each; finding those
 * dots is one scan from the right end; the labels are checked once, for the longest suffix that
 * matched (a shorter one extends its prefix, so it fails if that one does).
 */
export function matchWildcard (origin: string, suffixes: WildcardSuffixes, maxSuffixLength: number, maxSuffixLabels: number): OriginDecision | undefined {
  const scheme = origin.startsWith('https://') ? 'https' : origin.startsWith('http://') ? 'http' : undefined
  if (scheme === undefined) return undefined
  const hostStart = scheme.length + 3
  const shortest = origin.length - maxSuffixLength
  let found: { decision: OriginAllowed, dot: number } | undefined
  let dot = origin.lastIndexOf('.')
  for (let labels = 0; labels < maxSuffixLabels && dot > hostStart && dot >= shortest; labels++) {
    const decision = suffixes.get(origin.slice(dot))?.[scheme]
    if (decision !== undefined) found = { decision, dot }
    dot = origin.lastIndexOf('.', dot - 1)
  }
  if (found === undefined) return undefined
  const prefix = origin.slice(hostStart, found.dot)
  if (!LABELS.test(prefix)) return undefined
  // The URL parser refuses a label that is invalid Punycode (UTS #46 §4 Processing, which WHATWG
  // URL's domain to ASCII applies), so such an Origin cannot come from a browser.
  if (prefix.includes('xn--') && !isSerializedHttpOrigin(origin)) return undefined
  const colon = origin.indexOf(':', found.dot)
  const host = origin.slice(hostStart, colon === -1 ? origin.length : colon)
  const domain = host.slice(found.dot - hostStart + 1)
  // `*.amazonaws.com` must not admit `x.s3.amazonaws.com`: s3.amazonaws.com is a public suffix (Public
  // Suffix List, private section), so that host is a stranger's. The host's public suffix must be the
  // wildcard's domain or lie above it; then its registrable domain is the wildcard's.
  const suffix = publicSuffixOf(host)
  return suffix !== null && (suffix === domain || domain.endsWith(`.${suffix}`)) ? found.decision : refused('foreign-domain', found.decision.entry)
}

/**
 * Loopback, private and link-local addresses as the URL parser serializes them: 127/8, 10/8,
 * 172.16/12, 192.168/16, 169.254/16, 0.0.0.0 (RFC 1122 §3.2.1.3, RFC 1918, RFC 3927), and [::1],
 * fc00::/7, fe80::/10 (RFC 4291 §2.5.3, RFC 4193, RFC 4291 §2.5.6).
 */
const LOCAL_ADDRESS = /^(?:127\.|10\.|192\.168\.|169\.254\.|172\.(?:1[6-9]|2\d|3[01])\.|0\.0\.0\.0$|\[(?:::1\]|f[cd][0-9a-f]{2}:|fe[89ab][0-9a-f]:))/

/**
 * The name a RegExp must write out to admit `origin` (a serialized http(s) origin): its host's
 * registrable domain (the host itself if it is a public suffix, or a public IP address), or '' for a
 * host nobody can register on the public internet: a loopback, private or link-local address, a single
 * label (`localhost`), a reserved top-level domain. A public address is anyone's who rents it.
 */
function domainToName (origin: string): string {
  const hostStart = origin.indexOf('//') + 2
  const host = origin.slice(hostStart).replace(/:\d+$/, '').replace(/\.$/, '')
  if (host.startsWith('[') || /^[0-9.]+$/.test(host)) return LOCAL_ADDRESS.test(host) ? '' : host
  if (!host.includes('.') || SPECIAL_USE_TLDS.has(host.slice(host.lastIndexOf('.') + 1))) return ''
  return registrableDomainOf(host) ?? host
}

/**
 * Whether `literal` (a RegExp's source as text) writes out `domain` as a whole name: not as the end of
 * a longer label (`myevilexample.com` does not name `evilexample.com`), nor as the start of a longer
 * name (`example.com.evil.net` does not name `example.com`).
 */
function namesDomain (literal: string, domain: string): boolean {
  for (let at = literal.indexOf(domain); at !== -1; at = literal.indexOf(domain, at + 1)) {
    if (!NAME_CONTINUES_BEFORE.test(literal.slice(0, at)) && !NAME_CONTINUES_AFTER.test(literal.slice(at + domain.length))) return true
  }
  return false
}

/** A human sentence for logs, 403 bodies and tooling. */
export function describeDecision (origin: string | undefined, decision: OriginDecision): string {
  const shown = origin !== undefined && origin.length > 200 ? `${origin.slice(0, 200)}…` : origin
  const subject = shown === undefined ? 'A request without Origin' : `Origin ${JSON.stringify(shown)}`
  if (decision.allowed) return decision.reason === 'dynamic' ? `${subject} is allowed by the origins function` : `${subject} is allowed by entry ${decision.entry}`
  switch (decision.reason) {
    case 'absent': return `${subject} is refused: an Origin header is required here`
    case 'too-long': return `${subject} is refused: it is longer than any origin can be (${MAX_ORIGIN_LENGTH} characters)`
    case 'malformed': return `${subject} is refused: it is not a serialized origin (scheme://host[:port], lowercase, no path)`
    case 'non-canonical': return `${subject} is refused: browsers never send this form; it looks like the allowed ${decision.entry}`
    case 'scheme-differs': return `${subject} is refused: its host is listed with another scheme (${decision.entry})`
    case 'port-differs': return `${subject} is refused: its host is listed with another port (${decision.entry})`
    case 'not-listed': return `${subject} is refused: it is not in the allowlist`
    case 'foreign-domain': return `${subject} is refused: entry ${decision.entry} matches it, but not its registrable domain, which anyone may have registered`
    case 'lookup-failed': return `${subject} is refused: the origins function failed (${decision.detail})`
    case 'lookup-limited': return `${subject} is refused: the origins function was called as often this second as originsCache.maxLookupsPerSecond allows`
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
  const url = parseUrl(value)
  if (url === undefined) return undefined
  const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === ''
  return bare && (url.protocol === 'https:' || url.protocol === 'http:') ? url.origin : undefined
}

/** Whether `value` is an http(s) origin exactly as browsers serialize it (https://html.spec.whatwg.org/#ascii-serialisation-of-an-origin). */
export function isSerializedHttpOrigin (value: string): boolean {
  return (value.startsWith('https://') || value.startsWith('http://')) && parseUrl(value)?.origin === value
}

const LATIN1 = /[\x80-\xff]/

/**
 * `new URL(value)`, or undefined. `URL.canParse` first, as a thrown TypeError (with its stack)
 * would cost microseconds per junk Origin; but not for Latin-1 text (`bücher`), for which the
 * optimized `URL.canParse` of Node 20 and 22 answers false after a few thousand calls
 * (AikidoSec/firewall-node#1086; Node 24 is not affected).
 */
function parseUrl (value: string): URL | undefined {
  if (!LATIN1.test(value)) return URL.canParse(value) ? new URL(value) : undefined
  try {
    return new URL(value)
  } catch {
    return undefined
  }
}
