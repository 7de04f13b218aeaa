import { createRequire } from 'node:module'
import type * as Tldts from 'tldts'
import type SafeRegex from 'safe-regex2'

/**
 * The Public Suffix List (tldts) and the ReDoS check (safe-regex2), loaded on first use: only
 * wildcard and RegExp entries need them, and importing tldts's list costs about as much start-up
 * time as importing Fastify's CORS plugin, which an exact-only allowlist should not pay.
 */
const load = createRequire(import.meta.url)
let tldts: typeof Tldts | undefined
let safeRegex: typeof SafeRegex | undefined

/** Private-section suffixes count (`github.io` subdomains belong to strangers). */
const TLDTS_OPTIONS = Object.freeze({ allowPrivateDomains: true })

function list (): typeof Tldts {
  tldts ??= load('tldts') as typeof Tldts
  return tldts
}

/** The public suffix of `host` (ICANN or private section), or null. */
export function publicSuffixOf (host: string): string | null {
  return list().getPublicSuffix(host, TLDTS_OPTIONS)
}

/** The registrable domain of `host` (one label below its public suffix), or null. */
export function registrableDomainOf (host: string): string | null {
  return list().getDomain(host, TLDTS_OPTIONS)
}

/** Whether `name` is a registrable domain under a listed (ICANN or private) public suffix. */
export function isRegistrableName (name: string): boolean {
  const parsed = list().parse(name, TLDTS_OPTIONS)
  return parsed.domain !== null && (parsed.isIcann === true || parsed.isPrivate === true)
}

/** Whether a RegExp source has star height at most 1 (safe-regex2: no exponential backtracking). */
export function hasBoundedBacktracking (source: string): boolean {
  safeRegex ??= load('safe-regex2') as typeof SafeRegex
  return safeRegex(source, { limit: Infinity })
}
