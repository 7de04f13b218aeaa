import type { RefusalMode } from './config.js'
import type { OriginDecision, RefusalReason } from './origin-matcher.js'
import { CONNECT_ERRORS, type ConnectErrorCode } from './protocol.js'

/** Where a decision was made: an HTTP route, a preflight (routes and engine.io alike), engine.io polling, a WebSocket upgrade. */
export type Channel = 'http' | 'preflight' | 'polling' | 'websocket'
/** How a decision went: `would-refuse` is a refusal served under `refusal: 'report-only'`. */
export type DecisionKind = 'allowed' | 'refused' | 'would-refuse'
/**
 * How one Socket.IO namespace CONNECT ended: admitted (fresh or with its session recovered), or refused
 * by the origin check of the engine.io handshake or with a `connect_error` code.
 */
export type SocketOutcome = 'connected' | 'recovered' | 'refused-origin' | ConnectErrorCode

export type ChannelCounts = Record<Channel, number>

export interface ReasonCounts {
  readonly reason: RefusalReason
  /** What to do about it, as the refusal log line says. */
  readonly fix: string
  readonly total: number
  readonly channels: ChannelCounts
}

export interface DecisionCounts {
  readonly allowed: ChannelCounts
  /** Only the reasons that occurred. */
  readonly refused: readonly ReasonCounts[]
  readonly wouldRefuse: readonly ReasonCounts[]
}

export interface OriginCounts extends DecisionCounts {
  /** The Origin as logged: cut to a bounded length when longer. */
  readonly origin: string
  readonly total: number
}

/** `fastify.originPolicy.stats()`: counters since the app started; requests without `Origin` are not counted. */
export interface OriginPolicyStats {
  /** The refusal mode deciding now; `report-only` means refused origins are being served. */
  readonly mode: RefusalMode
  /** Every decision, whatever origin. */
  readonly totals: DecisionCounts
  /** The `originsLimit` most counted origins, most counted first. */
  readonly origins: readonly OriginCounts[]
  readonly originsLimit: number
  /** Origins dropped to make room for another (their decisions stay in `totals`). */
  readonly originsEvicted: number
  readonly sockets: Readonly<Record<SocketOutcome, number>>
  /** (connected + recovered) / all outcomes; null before the first outcome. */
  readonly connectionSuccessRate: number | null
}

export const CHANNELS: readonly Channel[] = Object.freeze(['http', 'preflight', 'polling', 'websocket'])
export const REFUSAL_REASONS: readonly RefusalReason[] = Object.freeze(['absent', 'too-long', 'malformed', 'non-canonical', 'scheme-differs', 'port-differs', 'not-listed', 'foreign-domain'])
export const SOCKET_OUTCOMES: readonly SocketOutcome[] = Object.freeze(['connected', 'recovered', 'refused-origin', ...Object.values(CONNECT_ERRORS)])

/**
 * Counts live in one flat array per origin, a row per decision kind and reason and a column per channel,
 * so that counting a known origin is one Map lookup and two increments, and allocates nothing.
 */
const ROWS = 1 + 2 * REFUSAL_REASONS.length
const SLOTS = ROWS * CHANNELS.length
const indexOf = <K extends string>(keys: readonly K[], offset = 0): Readonly<Record<K, number>> =>
  Object.freeze(Object.fromEntries(keys.map((key, index) => [key, index + offset])) as Record<K, number>)
const CHANNEL_INDEX = indexOf(CHANNELS)
const REFUSED_ROW = indexOf(REFUSAL_REASONS, 1)
const WOULD_REFUSE_ROW = indexOf(REFUSAL_REASONS, 1 + REFUSAL_REASONS.length)
const OUTCOME_INDEX = indexOf(SOCKET_OUTCOMES)

interface OriginRecord {
  readonly origin: string
  total: number
  readonly counts: Float64Array
}

/**
 * The decision counters of one policy, across its live updates. Per origin they are bounded: at most
 * `limit` origins are tracked, and a new one takes the place of the least counted (so a flood of
 * distinct Origins churns one slot while the origins that matter stay); totals count everything.
 */
export class OriginStats {
  readonly limit: number
  readonly #origins = new Map<string, OriginRecord>()
  readonly #totals = new Float64Array(SLOTS)
  readonly #sockets = new Float64Array(SOCKET_OUTCOMES.length)
  #evicted = 0
  /** The tracked records that have counted once, oldest first: the candidates for eviction. */
  readonly #once = new Map<string, OriginRecord>()

  constructor (limit: number) {
    this.limit = limit
  }

  /** Counts one decision on `origin` (at most its logged length, see `loggedOrigin`). */
  count (origin: string, decision: OriginDecision, reported: boolean, channel: Channel): void {
    const row = decision.allowed ? 0 : (reported ? WOULD_REFUSE_ROW : REFUSED_ROW)[decision.reason]
    const slot = row * CHANNELS.length + CHANNEL_INDEX[channel]
    this.#totals[slot]!++
    const record = this.#origins.get(origin) ?? this.#track(origin)
    record.counts[slot]!++
    if (++record.total === 2) this.#once.delete(origin)
  }

  countSocket (outcome: SocketOutcome): void {
    this.#sockets[OUTCOME_INDEX[outcome]]!++
  }

  /** Every non-zero total, for the Prometheus collector. */
  forEachTotal (callback: (kind: DecisionKind, reason: RefusalReason | undefined, channel: Channel, value: number) => void): void {
    this.#totals.forEach((value, slot) => {
      if (value === 0) return
      const { kind, reason, channel } = slotOf(slot)
      callback(kind, reason, channel, value)
    })
  }

  /** Every socket outcome, zeros included. */
  forEachSocket (callback: (outcome: SocketOutcome, value: number) => void): void {
    SOCKET_OUTCOMES.forEach((outcome, index) => { callback(outcome, this.#sockets[index]!) })
  }

  snapshot (mode: RefusalMode, fixes: Readonly<Record<RefusalReason, string>>): OriginPolicyStats {
    const sockets = Object.fromEntries(SOCKET_OUTCOMES.map((outcome, index) => [outcome, this.#sockets[index]!])) as Record<SocketOutcome, number>
    const outcomes = this.#sockets.reduce((sum, value) => sum + value, 0)
    const origins = [...this.#origins.values()].sort((a, b) => b.total - a.total)
      .map((record) => ({ origin: record.origin, total: record.total, ...countsOf(record.counts, fixes) }))
    return {
      mode,
      totals: countsOf(this.#totals, fixes),
      origins,
      originsLimit: this.limit,
      originsEvicted: this.#evicted,
      sockets,
      connectionSuccessRate: outcomes === 0 ? null : (sockets.connected + sockets.recovered) / outcomes
    }
  }

  #track (origin: string): OriginRecord {
    let counts: Float64Array | undefined
    if (this.#origins.size >= this.limit) {
      const least = this.#leastCounted()
      this.#origins.delete(least.origin)
      this.#once.delete(least.origin)
      this.#evicted++
      counts = least.counts.fill(0)
    }
    const record: OriginRecord = { origin, total: 0, counts: counts ?? new Float64Array(SLOTS) }
    this.#origins.set(origin, record)
    this.#once.set(origin, record)
    return record
  }

  /**
   * The first tracked of the least counted records. Every record has counted at least once, so while
   * some have counted only once, the oldest of those is it: a flood of distinct Origins replaces one in
   * constant time instead of scanning all `limit` records per request.
   */
  #leastCounted (): OriginRecord {
    const once = this.#once.values().next().value
    if (once !== undefined) return once
    let least: OriginRecord | undefined
    for (const record of this.#origins.values()) if (least === undefined || record.total < least.total) least = record
    return least!
  }
}

function slotOf (slot: number): { kind: DecisionKind, reason: RefusalReason | undefined, channel: Channel } {
  const row = Math.floor(slot / CHANNELS.length)
  const channel = CHANNELS[slot % CHANNELS.length]!
  if (row === 0) return { kind: 'allowed', reason: undefined, channel }
  const refused = row <= REFUSAL_REASONS.length
  return { kind: refused ? 'refused' : 'would-refuse', reason: REFUSAL_REASONS[(row - 1) % REFUSAL_REASONS.length], channel }
}

function channelsOf (counts: Float64Array, row: number): ChannelCounts {
  const base = row * CHANNELS.length
  return Object.fromEntries(CHANNELS.map((channel, index) => [channel, counts[base + index]!])) as ChannelCounts
}

function countsOf (counts: Float64Array, fixes: Readonly<Record<RefusalReason, string>>): DecisionCounts {
  const reasons = (rows: Readonly<Record<RefusalReason, number>>): ReasonCounts[] => REFUSAL_REASONS.flatMap((reason) => {
    const channels = channelsOf(counts, rows[reason])
    const total = CHANNELS.reduce((sum, channel) => sum + channels[channel], 0)
    return total === 0 ? [] : [{ reason, fix: fixes[reason], total, channels }]
  })
  return { allowed: channelsOf(counts, 0), refused: reasons(REFUSED_ROW), wouldRefuse: reasons(WOULD_REFUSE_ROW) }
}
