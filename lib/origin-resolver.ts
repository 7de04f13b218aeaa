import type { IncomingMessage } from 'node:http'
import { BoundedMap } from './bounded-map.js'
import { closestName } from './closest-name.js'
import { coarseNow } from './coarse-clock.js'
import { CorsConfigError } from './errors.js'
import { isSerializedHttpOrigin, MAX_ORIGIN_LENGTH, type OriginAllowed, type OriginDecision, type OriginRefused } from './origin-matcher.js'

/**
 * An allowlist that lives elsewhere (a database, per tenant): whether `origin` may call this server.
 * `origin` is always a serialized http(s) origin exactly as browsers send it (never `null`, never
 * over-long); `request` is Node's request (for HTTP routes Fastify's `request.raw`). The answer is
 * memoized per (Origin, Host) pair, so it may depend on those two and nothing else of the request.
 */
export type OriginsFunction = (origin: string, request: IncomingMessage) => boolean | Promise<boolean>

/** How the answers of an `origins` function are memoized and how often it may be called. */
export interface OriginsCacheOptions {
  /** Milliseconds an allowed answer is reused. Default 60000. */
  ttl?: number
  /** Milliseconds a refused answer (`false`) is reused. Default 10000. */
  negativeTtl?: number
  /** Milliseconds a failure (throw, rejection, timeout, non-boolean) is reused as a refusal; 0: not memoized. Default 1000. */
  failureTtl?: number
  /** Origins in each memo (allowed answers; refused answers and failures), each with up to 16 Hosts. Default 1000. */
  max?: number
  /** Milliseconds the function has to answer; later, the request is refused. Default 2000. */
  timeout?: number
  /** Most calls of the function per second (distinct lookups; memo hits and joined lookups are free); beyond, refused. Default 20. */
  maxLookupsPerSecond?: number
}

export type OriginsCacheConfig = Readonly<Required<OriginsCacheOptions>>

/** The defaults of `originsCache` (docs/options.md lists them). */
export const defaultOriginsCache: OriginsCacheConfig = Object.freeze({
  ttl: 60_000,
  negativeTtl: 10_000,
  failureTtl: 1000,
  max: 1000,
  timeout: 2000,
  maxLookupsPerSecond: 20
})

/** Time and timers, injectable so that tests drive TTLs, the rate window and timeouts without waiting. */
export interface ResolverClock {
  now: () => number
  setTimeout: (callback: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

/** What the function has cost and saved, for metrics and tests. */
export interface ResolverStats {
  /** Calls of the function. */
  readonly calls: number
  /** Lookups refused by the rate cap, without a call. */
  readonly limited: number
  /** Calls that threw, rejected, timed out or answered something else than a boolean. */
  readonly failures: number
}

const realClock: ResolverClock = Object.freeze({
  now: coarseNow,
  // unref: a lookup that never answers must not keep the process alive.
  setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle: unknown) => { clearTimeout(handle as NodeJS.Timeout) }
})

const OPTION_NAMES = Object.keys(defaultOriginsCache)
/** Node's timers fire at once beyond 2^31 − 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1
const WINDOW_MS = 1000
/** Hosts memoized per Origin (tenants that share one Origin), so that random Hosts cannot grow a memo. */
const HOSTS_PER_ORIGIN = 16
const ABSENT: OriginRefused = Object.freeze({ allowed: false, reason: 'absent' })
const TOO_LONG: OriginRefused = Object.freeze({ allowed: false, reason: 'too-long' })
const MALFORMED: OriginRefused = Object.freeze({ allowed: false, reason: 'malformed' })
const NOT_LISTED: OriginRefused = Object.freeze({ allowed: false, reason: 'not-listed' })
const LIMITED: OriginRefused = Object.freeze({ allowed: false, reason: 'lookup-limited' })
const LONG_HOST: OriginRefused = Object.freeze({ allowed: false, reason: 'lookup-failed', detail: 'not called: the Host header is longer than any host can be' })

interface Memo {
  readonly decision: OriginDecision
  readonly expires: number
}

/** The answers memoized for one Origin: the last Host's in one slot, all of them (once there are two Hosts) in `hosts`. */
interface OriginMemos {
  host: string
  latest: Memo
  hosts: BoundedMap<string, Memo> | undefined
}

/**
 * Answers by Origin, then by Host. Most Origins are seen with one Host (the API's), so a hit is one Map
 * lookup and a string comparison, with no key string built (and hashed) per request; a second Host adds
 * a per-Origin map. At most `max` Origins, each with the answers of at most `HOSTS_PER_ORIGIN` Hosts;
 * the oldest go first.
 */
class PairMemo {
  readonly #byOrigin: BoundedMap<string, OriginMemos>

  constructor (max: number) {
    this.#byOrigin = new BoundedMap(max)
  }

  get size (): number {
    let size = 0
    for (const memos of this.#byOrigin.values()) size += memos.hosts?.size ?? 1
    return size
  }

  get (origin: string, host: string): Memo | undefined {
    const memos = this.#byOrigin.get(origin)
    if (memos === undefined) return undefined
    return memos.host === host ? memos.latest : memos.hosts?.get(host)
  }

  set (origin: string, host: string, memo: Memo): void {
    const memos = this.#byOrigin.get(origin)
    if (memos === undefined) {
      this.#byOrigin.set(origin, { host, latest: memo, hosts: undefined })
      return
    }
    if (memos.hosts === undefined && memos.host !== host) {
      memos.hosts = new BoundedMap(HOSTS_PER_ORIGIN)
      memos.hosts.set(memos.host, memos.latest)
    }
    // The latest Host is the newest in `hosts`, so the slot never outlives its entry there.
    memos.hosts?.set(host, memo)
    memos.host = host
    memos.latest = memo
  }
}

/**
 * The decision of an `origins` function, made safe to put on every request: answers memoized with a
 * TTL in two bounded memos (a flood of refused Origins evicts only refused answers, never allowed
 * ones), concurrent lookups of one (Origin, Host) pair joined into one call, at most
 * `maxLookupsPerSecond` calls per second (beyond, refused without a call: a flood of random Origins
 * never becomes a flood of queries), and a function that throws, rejects, answers late or answers
 * something else than a boolean refuses (fail closed), memoized only for `failureTtl`.
 * A memoized answer is returned synchronously; only a call in progress is a promise, and that promise
 * never rejects.
 */
export class OriginResolver {
  readonly options: OriginsCacheConfig
  readonly #resolve: OriginsFunction
  readonly #clock: ResolverClock
  readonly #allowed: PairMemo
  readonly #refused: PairMemo
  /** Calls in progress. At most `maxLookupsPerSecond` × `timeout` / 1000 of them, as each ends by its timeout. */
  readonly #pending = new Map<string, Promise<OriginDecision>>()
  #windowStart = -Infinity
  #windowCalls = 0
  #calls = 0
  #limited = 0
  #failures = 0

  constructor (resolve: OriginsFunction, options: OriginsCacheConfig = defaultOriginsCache, clock: ResolverClock = realClock) {
    this.#resolve = resolve
    this.options = options
    this.#clock = clock
    this.#allowed = new PairMemo(options.max)
    this.#refused = new PairMemo(options.max)
  }

  get stats (): ResolverStats {
    return { calls: this.#calls, limited: this.#limited, failures: this.#failures }
  }

  /** How many answers are memoized now (allowed and refused together), and calls in progress. */
  get size (): number {
    return this.#allowed.size + this.#refused.size
  }

  get pending (): number {
    return this.#pending.size
  }

  /** The decision for a request's `Origin`; synchronous unless the function has to be called. */
  decide (origin: string | undefined, request: IncomingMessage): OriginDecision | Promise<OriginDecision> {
    if (origin === undefined) return ABSENT
    if (origin.length > MAX_ORIGIN_LENGTH) return TOO_LONG
    const host = request.headers.host ?? ''
    const now = this.#clock.now()
    const allowed = this.#allowed.get(origin, host)
    if (allowed !== undefined && now < allowed.expires) return allowed.decision
    const refused = this.#refused.get(origin, host)
    if (refused !== undefined && now < refused.expires) return refused.decision
    // Never memoized (the function is not called for it), so checked after the memos.
    if (host.length > MAX_ORIGIN_LENGTH) return LONG_HOST
    // Only what a browser sends reaches the function (and the memos): the URL parser is asked here, off the warm path.
    if (!isSerializedHttpOrigin(origin)) return MALFORMED
    // Neither an Origin nor a Host can hold a line feed (Node refuses one in a header value), so the
    // key names one pair.
    const key = `${origin}\n${host}`
    const pending = this.#pending.get(key)
    if (pending !== undefined) return pending
    if (now - this.#windowStart >= WINDOW_MS) {
      this.#windowStart = now
      this.#windowCalls = 0
    }
    if (this.#windowCalls >= this.options.maxLookupsPerSecond) {
      this.#limited++
      return LIMITED
    }
    this.#windowCalls++
    return this.#call(key, origin, host, request)
  }

  #call (key: string, origin: string, host: string, request: IncomingMessage): Promise<OriginDecision> {
    this.#calls++
    let settle!: (decision: OriginDecision) => void
    const lookup = new Promise<OriginDecision>((resolve) => { settle = resolve })
    this.#pending.set(key, lookup)
    let done = false
    const finish = (decision: OriginDecision, ttl: number): void => {
      if (done) return
      done = true
      this.#clock.clearTimeout(timer)
      this.#pending.delete(key)
      if (ttl > 0) (decision.allowed ? this.#allowed : this.#refused).set(origin, host, { decision, expires: this.#clock.now() + ttl })
      settle(decision)
    }
    const fail = (detail: string): void => {
      if (done) return
      this.#failures++
      finish(Object.freeze({ allowed: false, reason: 'lookup-failed', detail }), this.options.failureTtl)
    }
    const timer = this.#clock.setTimeout(() => { fail(`no answer within ${this.options.timeout} ms (originsCache.timeout)`) }, this.options.timeout)
    let answer: boolean | Promise<boolean>
    try {
      answer = this.#resolve(origin, request)
    } catch (error) {
      fail(`threw ${describeError(error)}`)
      return lookup
    }
    Promise.resolve(answer).then((value: unknown) => {
      if (value === true) finish(allowedBy(origin), this.options.ttl)
      else if (value === false) finish(NOT_LISTED, this.options.negativeTtl)
      else fail(`answered ${describeValue(value)}, not true or false`)
    }, (error: unknown) => { fail(`rejected with ${describeError(error)}`) })
    return lookup
  }
}

function allowedBy (origin: string): OriginAllowed {
  return Object.freeze({ allowed: true, reason: 'dynamic', entry: origin })
}

/** Validates `originsCache` (only meaningful with an `origins` function) over the defaults. */
export function resolveOriginsCache (value: unknown, dynamic: boolean): OriginsCacheConfig {
  if (value === undefined) return defaultOriginsCache
  if (!dynamic) {
    throw new CorsConfigError('originsCache', 'is set, but origins is not a function: only the answers of an origins function are memoized this way',
      'remove originsCache, or pass `origins: (origin, request) => boolean | Promise<boolean>`')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CorsConfigError('originsCache', `${describeValue(value)} is not an options object`, 'pass e.g. `{ ttl: 60000, max: 1000 }`')
  }
  const options = value as Record<string, unknown>
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.includes(name)) {
      const closest = closestName(name, OPTION_NAMES)
      throw new CorsConfigError(`originsCache.${name}`, 'is not an option of originsCache',
        closest === undefined ? `remove it; the options are ${OPTION_NAMES.join(', ')}` : `rename it to \`${closest}\``)
    }
  }
  const resolved = { ...defaultOriginsCache, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) }
  expectInteger('ttl', resolved.ttl, 1, MAX_TIMER_MS, 'e.g. 60000 (one minute)')
  expectInteger('negativeTtl', resolved.negativeTtl, 0, MAX_TIMER_MS, 'e.g. 10000; 0 asks again on every request (within the rate cap)')
  expectInteger('failureTtl', resolved.failureTtl, 0, MAX_TIMER_MS, 'e.g. 1000; 0 does not memoize failures')
  expectInteger('max', resolved.max, 1, 10_000_000, 'e.g. 1000')
  expectInteger('timeout', resolved.timeout, 1, MAX_TIMER_MS, 'e.g. 2000')
  expectInteger('maxLookupsPerSecond', resolved.maxLookupsPerSecond, 1, 1_000_000, 'e.g. 20, above the rate of never-seen origins your users bring')
  return Object.freeze(resolved)
}

function expectInteger (name: string, value: unknown, min: number, max: number, fix: string): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new CorsConfigError(`originsCache.${name}`, `${describeValue(value)} is not a whole number from ${min} to ${max}`, `use ${fix}`)
  }
}

/** A value as a log line or an error shows it: short, and never a function's source. */
function describeValue (value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 50 ? `${value.slice(0, 50)}…` : value)
  if (typeof value === 'object' || typeof value === 'function' || typeof value === 'symbol') return value === null ? 'null' : `a value of type ${Array.isArray(value) ? 'array' : typeof value}`
  return String(value)
}

function describeError (error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : describeValue(error)
}
