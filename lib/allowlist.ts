import { CorsConfigError } from './errors.js'
import { MAX_ORIGIN_LENGTH } from './origin-matcher.js'
import { hasBoundedBacktracking, isRegistrableName, publicSuffixOf } from './public-suffix.js'

/** One configured entry: an origin, a `scheme://*.domain[:port]` wildcard, `*`, or a RegExp. */
export type AllowlistEntry = string | RegExp

export interface WildcardEntry {
  /** Normalized text, e.g. `https://*.example.com:8443`; also the lookup key. */
  readonly text: string
  readonly scheme: 'http' | 'https'
  /**
   * The public suffix the `*` sits on (`co.uk`, `github.io`), when it does: anyone can register a
   * name under it, so the entry trusts strangers' sites.
   */
  readonly publicSuffix?: string
}

export interface PatternEntry {
  readonly text: string
  /** The user's RegExp wrapped as `^(?:…)$`, so it must match the whole origin. */
  readonly anchored: RegExp
  /**
   * The source as text to find domain names in: lowercase, with the escapes `\\.`, `\\-`, `\\/`
   * undone. A match admits an origin only if its registrable domain is written out here.
   */
  readonly literal: string
  /**
   * An origin on a public name the RegExp matches although its source names no registrable domain:
   * every such origin is refused when decided, so the entry is a mistake (e.g. `/https:\/\/\w+\.com/`).
   */
  readonly namesNoDomain?: string
  /**
   * Origins on reserved names nobody can own, under two unrelated top-level domains, that the
   * RegExp admits: it pins no domain, so it admits any attacker's origin too.
   */
  readonly admitsAnyDomain?: readonly [string, string]
}

export interface Allowlist {
  /** `*`: any origin, only legal without credentials and as the only entry. */
  readonly any: boolean
  /** Normalized exact origins, as browsers serialize them. */
  readonly exact: ReadonlySet<string>
  readonly wildcards: readonly WildcardEntry[]
  readonly patterns: readonly PatternEntry[]
}

const SCHEME_AND_REST = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s
const WILDCARD_PLACEHOLDER = 'wildcard-label-placeholder'

/**
 * Origins nobody can own, per reserved top-level domain (RFC 2606 §2, RFC 6761 §6.2, §6.4, §6.5),
 * in the shapes a loose RegExp admits: short host, many labels, a port, http and https.
 */
const UNOWNABLE_PROBES = probes(['invalid', 'test', 'example'])
/** The same shapes on public top-level domains, where anyone can register a name. */
const PUBLIC_PROBES = probes(['com', 'net', 'org', 'io', 'dev']).flat()
/** Runs of host characters with at least one dot: the domain names a RegExp's source writes out. */
const WRITTEN_NAMES = /[a-z0-9-]+(?:\.[a-z0-9-]+)+/g

function probes (tlds: readonly string[]): ReadonlyArray<readonly string[]> {
  return tlds.map((tld) => ['https', 'http'].flatMap((scheme) => [`a.${tld}`, `x-1.b.c.d.e.f.${tld}`].flatMap((host) =>
    ['', ':8080', ':8443', ':3000'].map((port) => `${scheme}://${host}${port}`))))
}

/**
 * Parses and normalizes an allowlist once, at start-up. Throws `CorsConfigError` naming the entry,
 * the rule and the fix; never widens an entry it does not understand.
 * A string is split on commas (the `CORS_ORIGINS` form): items are trimmed and empty items dropped.
 */
export function parseAllowlist (input: string | readonly AllowlistEntry[]): Allowlist {
  if (typeof input !== 'string' && !Array.isArray(input)) {
    throw new CorsConfigError('origins', `got ${describeValue(input)}, not a string or an array`,
      'pass an array such as [\'https://app.example.com\'], or a comma-separated string')
  }
  const items: AllowlistEntry[] = typeof input === 'string'
    ? input.split(',').map((item) => item.trim()).filter((item) => item !== '')
    : [...input]

  let any = false
  const exact = new Set<string>()
  const wildcards = new Map<string, WildcardEntry>()
  const patterns = new Map<string, PatternEntry>()

  for (const item of items) {
    if (item instanceof RegExp) {
      const pattern = parsePattern(item)
      patterns.set(pattern.text, pattern)
    } else if (typeof item !== 'string') {
      throw new CorsConfigError('origins', `entry ${String(item)} is a ${typeof item}`,
        'give each entry as a string such as "https://app.example.com" or as a RegExp')
    } else if (item.trim() === '*') {
      any = true
    } else {
      const entry = normalizeEntry(item.trim())
      if (typeof entry === 'string') exact.add(entry)
      else wildcards.set(entry.text, entry)
    }
  }

  if (any && (exact.size + wildcards.size + patterns.size) > 0) {
    throw new CorsConfigError('origins', '"*" is mixed with other entries, so the other entries mean nothing',
      'either list the origins you trust, or use "*" alone (and only without credentials)')
  }
  if (!any && exact.size + wildcards.size + patterns.size === 0) {
    throw new CorsConfigError('origins', 'no origin is configured',
      'pass `origins: [\'https://app.example.com\']` when registering the plugin, or set CORS_ORIGINS=https://app.example.com (comma-separated)')
  }
  return Object.freeze({
    any,
    exact,
    wildcards: Object.freeze([...wildcards.values()]),
    patterns: Object.freeze([...patterns.values()])
  })
}

/** Normalizes one string entry to a serialized origin, or to a wildcard entry. */
export function normalizeEntry (entry: string): string | WildcardEntry {
  const setting = `origins entry "${entry}"`
  if (entry === '') {
    throw new CorsConfigError('origins', 'an entry is empty', 'remove it, or write an origin such as "https://app.example.com"')
  }
  if (entry.toLowerCase() === 'null') {
    throw new CorsConfigError(setting, '"null" is the origin of sandboxed iframes, data: URLs and redirects, which any site can create',
      'remove it; list the real origin of the page instead')
  }
  if (/\s/.test(entry)) {
    throw new CorsConfigError(setting, 'contains whitespace', 'remove the spaces; separate entries with commas')
  }
  const parts = SCHEME_AND_REST.exec(entry)
  if (parts === null) {
    throw new CorsConfigError(setting, 'has no scheme', `write it with its scheme, e.g. "https://${entry.replace(/^\/*/, '')}"`)
  }
  const scheme = parts[1].toLowerCase()
  const rest = parts[2]
  if (!isHttpScheme(scheme)) {
    throw new CorsConfigError(setting, `scheme "${scheme}" is not http or https`, 'list the http(s) origin of the page that calls the API')
  }
  // The URL parser reads `\` as `/` in http(s) URLs, so it starts a path too.
  const authorityEnd = rest.search(/[/?#\\]/)
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd)
  if (authorityEnd !== -1) {
    const tail = rest.slice(authorityEnd)
    const what = tail === '/' ? 'ends with a trailing slash' : tail[0] === '?' ? 'has a query' : tail[0] === '#' ? 'has a fragment' : 'has a path'
    throw new CorsConfigError(setting, `${what}, but an origin is only scheme://host[:port] and browsers compare it byte for byte`,
      `write "${scheme}://${authority}"`)
  }
  if (authority.includes('@')) {
    throw new CorsConfigError(setting, 'has user information before "@"', `write "${scheme}://${authority.slice(authority.lastIndexOf('@') + 1)}"`)
  }
  if (authority.includes('*')) return normalizeWildcard(entry, scheme, authority)

  const origin = parseUrl(setting, `${scheme}://${authority}`).origin
  if (origin.length > MAX_ORIGIN_LENGTH) {
    // The matcher refuses longer Origins unread, so such an entry could never match.
    throw new CorsConfigError(setting, `is ${origin.length} characters long, more than any origin can be (${MAX_ORIGIN_LENGTH})`, 'check the host name: a DNS name has at most 253 characters')
  }
  return origin
}

function normalizeWildcard (entry: string, scheme: 'http' | 'https', authority: string): WildcardEntry {
  const setting = `origins entry "${entry}"`
  const fix = `write it as "${scheme}://*.example.com": "*" stands for one or more whole labels on the left, and at least two labels must follow it`
  if (!authority.startsWith('*.') || authority.indexOf('*', 1) !== -1) {
    throw new CorsConfigError(setting, 'is a malformed wildcard', fix)
  }
  const url = parseUrl(setting, `${scheme}://${WILDCARD_PLACEHOLDER}${authority.slice(1)}`)
  const suffix = url.hostname.slice(WILDCARD_PLACEHOLDER.length)
  const labels = suffix.split('.').slice(1)
  if (labels.includes('')) {
    throw new CorsConfigError(setting, 'has an empty label (two dots in a row, or a trailing dot)', fix)
  }
  if (!url.hostname.startsWith(`${WILDCARD_PLACEHOLDER}.`) || labels.length < 2) {
    throw new CorsConfigError(setting, 'covers a whole top-level domain or is not a domain wildcard', fix)
  }
  const text = `${scheme}://*${url.host.slice(WILDCARD_PLACEHOLDER.length)}`
  const domain = suffix.slice(1)
  // The private section counts too: `github.io` subdomains belong to strangers.
  const publicSuffix = publicSuffixOf(`${WILDCARD_PLACEHOLDER}.${domain}`) === domain ? domain : undefined
  return Object.freeze(publicSuffix === undefined ? { text, scheme } : { text, scheme, publicSuffix })
}

function isHttpScheme (scheme: string): scheme is 'http' | 'https' {
  return scheme === 'http' || scheme === 'https'
}

function parseUrl (setting: string, text: string): URL {
  try {
    return new URL(text)
  } catch {
    throw new CorsConfigError(setting, 'is not a valid host (and port)', 'write it as scheme://host[:port], e.g. "https://app.example.com:8443"')
  }
}

function parsePattern (pattern: RegExp): PatternEntry {
  const text = String(pattern)
  if (pattern.global || pattern.sticky) {
    throw new CorsConfigError(`origins entry ${text}`, 'has the g or y flag, which makes RegExp#test remember its last position and alternate between true and false',
      `drop the flag: /${pattern.source}/${pattern.flags.replace(/[gy]/g, '')}`)
  }
  // Star height above 1 (a repeated group that itself repeats) backtracks exponentially in V8, and a
  // RegExp runs on the event loop: one crafted Origin would stall every request (OWASP "Regular
  // expression Denial of Service - ReDoS"). Refused whatever the credentials.
  if (!hasBoundedBacktracking(withoutOptionalGroups(pattern.source))) {
    throw new CorsConfigError(`origins entry ${text}`, 'has nested quantifiers (a repeated group with a repetition inside, such as (\\w+\\.?)+), or syntax safe-regex2 cannot check: matching it can backtrack exponentially, so one request with a crafted Origin could stall the server',
      'repeat a character class instead of a group, e.g. /https:\\/\\/[a-z0-9.-]+\\.example\\.com/, or list exact origins')
  }
  const anchored = new RegExp(`^(?:${pattern.source})$`, pattern.flags)
  const literal = pattern.source.replace(/\\([\s\S])/g, (escape, char: string) => '.-/'.includes(char) ? char : escape).toLowerCase()
  const admitted = UNOWNABLE_PROBES.map((probes) => probes.find((probe) => anchored.test(probe)))
    .filter((probe) => probe !== undefined)
  const namesDomain = (literal.match(WRITTEN_NAMES) ?? []).some(isRegistrableName)
  const unnamed = namesDomain ? undefined : PUBLIC_PROBES.find((probe) => anchored.test(probe))
  return Object.freeze({
    text,
    anchored,
    literal,
    ...(admitted.length >= 2 ? { admitsAnyDomain: Object.freeze([admitted[0], admitted[1]] as const) } : {}),
    ...(unnamed === undefined ? {} : { namesNoDomain: unnamed })
  })
}

/**
 * `source` without the `?` of its groups, for safe-regex2, which counts `(:\\d+)?` as a star
 * inside a star: a group taken at most once repeats nothing, so it cannot nest a repetition.
 */
function withoutOptionalGroups (source: string): string {
  let out = ''
  let inClass = false
  for (let i = 0; i < source.length; i++) {
    const char = source[i]
    if (char === '\\') {
      out += source.slice(i, i + 2)
      i++
      continue
    }
    out += char
    if (inClass) inClass = char !== ']'
    else if (char === '[') inClass = true
    else if (char === ')' && source[i + 1] === '?') i += source[i + 2] === '?' ? 2 : 1
  }
  return out
}

function describeValue (value: unknown): string {
  if (value === null) return 'null'
  return value instanceof RegExp ? `the single RegExp ${String(value)} (wrap it in an array)` : `a value of type ${typeof value}`
}
