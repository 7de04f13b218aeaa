import { checkConfiguration, type ConfigFinding, type ConfigReport, type RealtimeOriginOptions } from './config-check.js'
import type { CorsPolicyOptions } from './config.js'
import { describeDecision, OriginMatcher, type OriginDecision, type RefusalReason } from './origin-matcher.js'
import { REFUSAL_FIXES } from './origin-policy.js'

/** The smallest change that admits the origin: one exact entry more, checked by start-up's own validation. */
export interface OriginChange {
  /** The entry to add, exactly as browsers send the Origin. */
  readonly entry: string
  /** Where it goes: the `origins` option, or `CORS_ORIGINS` when the list came from there. */
  readonly setting: 'origins' | 'CORS_ORIGINS'
  /** The whole list after the change, as it would be written in that setting. */
  readonly origins: readonly string[]
  /** Warnings start-up would log after the change and does not log now. */
  readonly warnings: readonly string[]
}

export interface Explanation {
  readonly origin: string
  readonly decision: OriginDecision
  /** The sentence the plugins log for this decision (`describeDecision`). */
  readonly description: string
  /** What the plugins' refusal log line advises (`REFUSAL_FIXES`); refusals only. */
  readonly fix?: string
  /** Refusals an exact entry can cure. */
  readonly change?: OriginChange
  /** Refusals no configuration may safely cure, and why. */
  readonly noSafeChange?: string
}

/**
 * Values no entry can admit: the allowlist refuses `null` as an entry and an over-long origin as an
 * entry, and browsers never send the others, so widening the list for them would only admit forgeries.
 */
const NO_SAFE_CHANGE: Partial<Record<RefusalReason, string>> = {
  absent: 'an Origin header is missing; the allowlist cannot help, send one',
  'too-long': 'no origin is that long (a DNS name has at most 253 characters), so no entry can match it: this is not a browser',
  malformed: 'browsers never send this value as an Origin; an entry for it would only admit forged requests',
  'non-canonical': 'browsers never send this form; the form they send is already allowed'
}
const NULL_ORIGIN = '"null" is the Origin of sandboxed iframes, data: URLs and cross-origin redirects, which any site can create, so no entry admits it (https://fetch.spec.whatwg.org/#origin-header); serve the page from a real origin and list that'

/**
 * Why the plugins would admit or refuse `origin` under these options, and the smallest change that would
 * admit it. The options go through `checkConfiguration` first, as at start-up; an error there comes back
 * in `report` without an explanation.
 */
export function explainOrigin (origin: string, cors: CorsPolicyOptions, realtime: RealtimeOriginOptions | undefined, env: NodeJS.ProcessEnv): { report: ConfigReport, explanation?: Explanation } {
  const report = checkConfiguration(cors, realtime, env)
  if (report.config === undefined) return { report }
  const decision = new OriginMatcher(report.config.allowlist, 0).decide(origin)
  const base = { origin, decision, description: describeDecision(origin, decision) }
  if (decision.allowed) return { report, explanation: base }
  const refused = { ...base, fix: REFUSAL_FIXES[decision.reason] }
  const impossible = origin.toLowerCase() === 'null' ? NULL_ORIGIN : NO_SAFE_CHANGE[decision.reason]
  if (impossible !== undefined) return { report, explanation: { ...refused, noSafeChange: impossible } }
  return { report, explanation: { ...refused, ...withEntry(origin, cors, realtime, env, report.findings) } }
}

/** Adds `origin` as an exact entry where the list was configured, and validates the result as start-up would. */
function withEntry (origin: string, cors: CorsPolicyOptions, realtime: RealtimeOriginOptions | undefined, env: NodeJS.ProcessEnv,
  before: readonly ConfigFinding[]): { change: OriginChange } | { noSafeChange: string } {
  const fromEnv = cors.origins === undefined
  // Start-up succeeded, so without the option CORS_ORIGINS holds the list.
  const current = cors.origins ?? env.CORS_ORIGINS as string
  // A configuration file or flags cannot hold a function; a caller of this module can.
  if (typeof current === 'function') return { noSafeChange: 'the allowlist is an origins function (dynamic): it alone decides, so no entry can be added; make the function answer true for this origin' }
  const entries = typeof current === 'string' ? current.split(',').map((item) => item.trim()).filter((item) => item !== '') : current.map(String)
  const origins = [...entries, origin]
  const widened = typeof current === 'string' ? origins.join(',') : [...current, origin]
  const after = fromEnv
    ? checkConfiguration(cors, realtime, { ...env, CORS_ORIGINS: origins.join(',') })
    : checkConfiguration({ ...cors, origins: widened }, realtime, env)
  if (after.config === undefined) {
    const error = after.findings.at(-1)!
    return { noSafeChange: `start-up refuses it as an entry (${error.setting}: ${error.message}), and browsers never send an Origin the URL parser refuses` }
  }
  if (!new OriginMatcher(after.config.allowlist, 0).decide(origin).allowed) {
    return { noSafeChange: 'as an entry it normalizes to another origin (the URL parser rewrites its host), so no entry matches this value, which browsers never send' }
  }
  const known = new Set(before.map((finding) => finding.message))
  const warnings = after.findings.filter((finding) => !known.has(finding.message)).map((finding) => finding.message)
  return { change: { entry: origin, setting: fromEnv ? 'CORS_ORIGINS' : 'origins', origins, warnings } }
}
