import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Allowlist } from './allowlist.js'
import { defaultOptions, resolveCorsConfig, type CorsConfig, type CorsPolicyOptions, type RefusalMode } from './config.js'
import { CorsConfigError } from './errors.js'
import type { OriginDecision, OriginRefused } from './origin-matcher.js'
import { countedOrigin, OriginPolicy, REFUSAL_FIXES, type CorsAnswer, type CorsVerdict, type WarnLogger } from './origin-policy.js'
import { OriginStats, type Channel, type DecisionKind, type OriginPolicyStats, type SocketOutcome } from './origin-stats.js'
import type { RefusalLog } from './refusal-log.js'

/** What `update()` may change: the policy itself, not how the plugin reloads or reports it. */
export type OriginPolicyUpdate = Omit<CorsPolicyOptions, RuntimeOption>
type RuntimeOption = 'originsFile' | 'watchOriginsFile' | 'statsOrigins' | 'metrics' | 'hideOptionsRoute'
const RUNTIME_OPTIONS: readonly RuntimeOption[] = ['originsFile', 'watchOriginsFile', 'statsOrigins', 'metrics', 'hideOptionsRoute']

/** The entries an update added and removed, as their text. */
export interface AllowlistChange {
  readonly added: readonly string[]
  readonly removed: readonly string[]
}

/** The logger an update reports to (pino's shape). */
export interface UpdateLogger extends WarnLogger {
  info: (details: object, message: string) => void
}

/** A check another plugin adds (realtime's cookie rules): it throws a `CorsConfigError` to refuse a configuration. */
export type PolicyCheck = (config: CorsConfig) => void

/**
 * `fastify.originPolicy`: the one origin policy of the app, shared by corsPolicy and realtime, that an
 * update replaces as a whole. Each update compiles a new `OriginPolicy` (its decision and header caches
 * start empty, so no cached decision outlives the list it came from) and swaps it in one assignment;
 * every request reads `current` once per decision. Counters span updates.
 */
export class LiveOriginPolicy {
  #current: OriginPolicy
  #options: OriginPolicyUpdate
  readonly #env: NodeJS.ProcessEnv
  readonly #log: UpdateLogger
  readonly #stats: OriginStats
  readonly #checks: PolicyCheck[] = []
  readonly #listeners = new Set<(change: AllowlistChange) => void>()

  constructor (options: OriginPolicyUpdate, env: NodeJS.ProcessEnv, log: UpdateLogger, statsOrigins: number = defaultOptions.statsOrigins) {
    this.#current = new OriginPolicy(resolveCorsConfig(options, env))
    this.#options = options
    this.#env = env
    this.#log = log
    this.#stats = new OriginStats(statsOrigins)
  }

  /** The compiled policy deciding now. */
  get current (): OriginPolicy { return this.#current }
  get config (): CorsConfig { return this.#current.config }
  get mode (): RefusalMode { return this.#current.config.refusal }
  get vary (): string | undefined { return this.#current.vary }
  get refusals (): RefusalLog { return this.#current.refusals }

  decide (origin: string | undefined): OriginDecision {
    return this.#current.decide(origin)
  }

  /** The decision for a request, at once or, while an `origins` function's lookup runs, as a promise (see `OriginPolicy.lookup`). */
  lookup (origin: string | undefined, request: IncomingMessage): OriginDecision | Promise<OriginDecision> {
    return this.#current.lookup(origin, request)
  }

  /**
   * The verdict for one request from the `decision` of `lookup()` (see `OriginPolicy.verdict`), counted on
   * `channel` (`preflight` for a preflight).
   */
  verdict (method: string | undefined, headers: IncomingHttpHeaders, decision: OriginDecision, channel: Exclude<Channel, 'preflight'>): CorsVerdict {
    const verdict = this.#current.verdict(method, headers, decision)
    const origin = headers.origin
    if (origin !== undefined) {
      this.#stats.count(countedOrigin(origin), verdict.decision, verdict.reported === true, verdict.answer === undefined ? channel : 'preflight')
    }
    return verdict
  }

  /** Whether a refusal is only reported, under `refusal: 'report-only'`. */
  reports (decision: OriginRefused): boolean {
    return this.#current.reports(decision)
  }

  refuse (decision: OriginRefused, preflight: boolean): CorsAnswer {
    return this.#current.refuse(decision, preflight)
  }

  logRefusal (log: WarnLogger, origin: string | undefined, decision: OriginRefused, request: { method?: string, url?: string }): void {
    this.#current.logRefusal(log, origin, decision, request)
  }

  countSocket (outcome: SocketOutcome): void {
    this.#stats.countSocket(outcome)
  }

  /** The counters: per origin (bounded, see `statsOrigins`), in total, and of Socket.IO connections. */
  stats (): OriginPolicyStats {
    return this.#stats.snapshot(this.mode, REFUSAL_FIXES)
  }

  /** For the Prometheus collector: every non-zero decision total, and every socket outcome. */
  forEachTotal (callback: (kind: DecisionKind, reason: string, channel: Channel, value: number) => void): void {
    this.#stats.forEachTotal((kind, reason, channel, value) => { callback(kind, reason ?? '', channel, value) })
  }

  forEachSocketOutcome (callback: (outcome: SocketOutcome, value: number) => void): void {
    this.#stats.forEachSocket(callback)
  }

  /**
   * Replaces the policy: `options` over the current ones (what they leave out stays), validated exactly
   * as at start-up (`resolveCorsConfig`, then every check a plugin added). On any error nothing changes
   * and the `CorsConfigError` is thrown. Logs the change with its diff, and the new list's warnings.
   */
  update (options: OriginPolicyUpdate, source = 'update()'): AllowlistChange {
    for (const name of RUNTIME_OPTIONS) {
      if (name in options) throw new CorsConfigError(name, 'cannot change while the app runs', 'pass it when registering corsPolicy, and restart')
    }
    const merged = { ...this.#options, ...options }
    const next = new OriginPolicy(resolveCorsConfig(merged, this.#env))
    for (const check of this.#checks) check(next.config)
    const change = diffAllowlists(this.#current.config.allowlist, next.config.allowlist)
    this.#current = next
    this.#options = merged
    this.#log.info({ plugin: 'fastify-cors-io', source, added: change.added, removed: change.removed, mode: next.config.refusal }, 'origin allowlist updated')
    for (const warning of next.config.warnings) this.#log.warn({ plugin: 'fastify-cors-io', source }, warning)
    for (const listener of this.#listeners) listener(change)
    return change
  }

  /** Adds a check that start-up ran on the current policy and every update runs on the next one. */
  addCheck (check: PolicyCheck): void {
    this.#checks.push(check)
  }

  /** Calls `listener` after each update; returns the function that removes it. */
  onUpdate (listener: (change: AllowlistChange) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }
}

/** The entry texts of an allowlist, as `diffAllowlists` compares them. */
function entriesOf (allowlist: Allowlist): string[] {
  return allowlist.any ? ['*'] : [...allowlist.exact, ...allowlist.wildcards.map((entry) => entry.text), ...allowlist.patterns.map((entry) => entry.text)]
}

export function diffAllowlists (before: Allowlist, after: Allowlist): AllowlistChange {
  const old = new Set(entriesOf(before))
  const next = new Set(entriesOf(after))
  return Object.freeze({ added: [...next].filter((entry) => !old.has(entry)), removed: [...old].filter((entry) => !next.has(entry)) })
}
