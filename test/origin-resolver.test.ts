import t from 'tap'
import type { IncomingMessage } from 'node:http'
import { CorsConfigError } from '../lib/errors.js'
import { describeDecision, MAX_ORIGIN_LENGTH, type OriginDecision } from '../lib/origin-matcher.js'
import {
  defaultOriginsCache, OriginResolver, resolveOriginsCache, type OriginsCacheOptions, type OriginsFunction, type ResolverClock
} from '../lib/origin-resolver.js'

const APP = 'https://app.example.com'
const EVIL = 'https://evil.example'

/** A clock the test moves by hand; its timers fire only when `advance` passes their time. */
class FakeClock implements ResolverClock {
  time = 1_000_000
  #timers = new Map<number, { at: number, callback: () => void }>()
  #next = 0
  now = (): number => this.time
  setTimeout = (callback: () => void, ms: number): unknown => {
    const id = this.#next++
    this.#timers.set(id, { at: this.time + ms, callback })
    return id
  }

  clearTimeout = (handle: unknown): void => { this.#timers.delete(handle as number) }
  get timers (): number { return this.#timers.size }
  advance (ms: number): void {
    this.time += ms
    for (const [id, timer] of [...this.#timers]) {
      if (timer.at <= this.time) {
        this.#timers.delete(id)
        timer.callback()
      }
    }
  }
}

function request (host = 'api.example.com'): IncomingMessage {
  return { headers: { host } } as unknown as IncomingMessage
}

/** A resolver over `answer`, counting its calls, on a fake clock. */
function setup (answer: OriginsFunction, options: OriginsCacheOptions = {}): { resolver: OriginResolver, clock: FakeClock, calls: string[] } {
  const clock = new FakeClock()
  const calls: string[] = []
  const counted: OriginsFunction = (origin, req) => {
    calls.push(`${origin} ${req.headers.host ?? ''}`)
    return answer(origin, req)
  }
  return { resolver: new OriginResolver(counted, resolveOriginsCache(options, true), clock), clock, calls }
}

async function settled (value: OriginDecision | Promise<OriginDecision>): Promise<OriginDecision> {
  return await value
}

const listed = (origin: string): boolean => origin === APP

t.test('an allowed origin is looked up once, then answered synchronously from the memo until its TTL', async (t) => {
  const { resolver, clock, calls } = setup(listed, { ttl: 5000 })
  const first = resolver.decide(APP, request())
  t.ok(first instanceof Promise, 'the first decision waits for the function')
  t.same(await first, { allowed: true, reason: 'dynamic', entry: APP })
  clock.advance(4999)
  const memo = resolver.decide(APP, request())
  t.notOk(memo instanceof Promise, 'a memoized answer is synchronous')
  t.same(memo, { allowed: true, reason: 'dynamic', entry: APP })
  t.equal(calls.length, 1)
  clock.advance(1)
  t.ok(resolver.decide(APP, request()) instanceof Promise, 'at its TTL the answer is looked up again')
  t.equal(calls.length, 2)
})

t.test('a refused answer is memoized too, for negativeTtl', async (t) => {
  const { resolver, clock, calls } = setup(listed, { negativeTtl: 3000 })
  t.same(await settled(resolver.decide(EVIL, request())), { allowed: false, reason: 'not-listed' })
  clock.advance(2999)
  t.same(resolver.decide(EVIL, request()), { allowed: false, reason: 'not-listed' })
  t.equal(calls.length, 1)
  clock.advance(1)
  await settled(resolver.decide(EVIL, request()))
  t.equal(calls.length, 2)
})

t.test('negativeTtl 0 memoizes no refusal', async (t) => {
  const { resolver, calls } = setup(listed, { negativeTtl: 0 })
  await settled(resolver.decide(EVIL, request()))
  await settled(resolver.decide(EVIL, request()))
  t.equal(calls.length, 2)
  t.equal(resolver.size, 0)
})

t.test('the memo is per (Origin, Host): one tenant\'s answer never serves another', async (t) => {
  const { resolver, calls } = setup((origin, req) => req.headers.host === 'a.example.com' && origin === APP)
  t.equal((await settled(resolver.decide(APP, request('a.example.com')))).allowed, true)
  t.equal((await settled(resolver.decide(APP, request('b.example.com')))).allowed, false)
  t.equal((await settled(resolver.decide(APP, request('a.example.com')))).allowed, true)
  t.same(calls, [`${APP} a.example.com`, `${APP} b.example.com`])
})

t.test('each memo is bounded by max; a flood of refused origins never evicts an allowed answer', async (t) => {
  const { resolver, calls } = setup(listed, { max: 3, maxLookupsPerSecond: 1000 })
  await settled(resolver.decide(APP, request()))
  for (let i = 0; i < 10; i++) await settled(resolver.decide(`https://r${i}.example`, request()))
  t.equal(resolver.size, 4, 'one allowed answer and three refused ones')
  t.same(resolver.decide(APP, request()), { allowed: true, reason: 'dynamic', entry: APP })
  t.equal(calls.length, 11)
  // The oldest refusals went first; the newest are still memoized.
  t.notOk(resolver.decide('https://r9.example', request()) instanceof Promise)
  t.ok(resolver.decide('https://r0.example', request()) instanceof Promise)
})

t.test('each Origin keeps the answers of at most 16 Hosts: random Hosts cannot grow the memo', async (t) => {
  const { resolver, calls } = setup(() => true, { maxLookupsPerSecond: 1000 })
  for (let i = 0; i < 40; i++) await settled(resolver.decide(APP, request(`t${i}.example.com`)))
  t.equal(resolver.size, 16)
  t.notOk(resolver.decide(APP, request('t39.example.com')) instanceof Promise, 'the newest Hosts are memoized')
  t.ok(resolver.decide(APP, request('t0.example.com')) instanceof Promise, 'the oldest went first')
  t.equal(calls.length, 41)
})

t.test('N concurrent lookups of one origin are one call, and all get its answer', async (t) => {
  let release!: (value: boolean) => void
  const { resolver, calls } = setup(async () => await new Promise<boolean>((resolve) => { release = resolve }))
  const waiting = Array.from({ length: 50 }, () => resolver.decide(APP, request()))
  t.equal(calls.length, 1)
  t.equal(resolver.pending, 1)
  release(true)
  const decisions = await Promise.all(waiting)
  t.ok(decisions.every((decision) => decision.allowed))
  t.equal(resolver.pending, 0)
  t.equal(calls.length, 1)
})

t.test('at most maxLookupsPerSecond calls per second; beyond, refused without a call and counted', async (t) => {
  const { resolver, clock, calls } = setup(() => false, { maxLookupsPerSecond: 5 })
  const decisions = await Promise.all(Array.from({ length: 100 }, async (_, i) => await settled(resolver.decide(`https://f${i}.example`, request()))))
  t.equal(calls.length, 5)
  t.equal(decisions.filter((decision) => decision.reason === 'lookup-limited').length, 95)
  t.same(resolver.stats, { calls: 5, limited: 95, failures: 0 })
  // A memo hit and a joined lookup cost no call, even at the cap.
  t.same(resolver.decide('https://f0.example', request()), { allowed: false, reason: 'not-listed' })
  clock.advance(999)
  t.same(resolver.decide('https://new.example', request()), { allowed: false, reason: 'lookup-limited' }, 'the same window')
  clock.advance(1)
  await settled(resolver.decide('https://new.example', request()))
  t.equal(calls.length, 6, 'a new second allows new calls')
  t.same(resolver.decide('https://new.example', request()), { allowed: false, reason: 'not-listed' }, 'a refusal by the cap is not memoized')
})

t.test('a function that answers late is refused at the timeout, memoized only for failureTtl, and its late answer ignored', async (t) => {
  let release!: (value: boolean) => void
  const { resolver, clock, calls } = setup(async () => await new Promise<boolean>((resolve) => { release = resolve }), { timeout: 500, failureTtl: 200 })
  const waiting = resolver.decide(APP, request())
  clock.advance(499)
  t.equal(resolver.pending, 1)
  clock.advance(1)
  const decision = await settled(waiting)
  t.match(decision, { allowed: false, reason: 'lookup-failed', detail: /no answer within 500 ms/ })
  t.equal(resolver.pending, 0)
  release(true)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(resolver.decide(APP, request()), decision, 'the failure, memoized; the late true changed nothing')
  t.same(resolver.stats, { calls: 1, limited: 0, failures: 1 })
  clock.advance(200)
  t.ok(resolver.decide(APP, request()) instanceof Promise, 'after failureTtl the origin is looked up again')
  t.equal(calls.length, 2)
})

t.test('a late rejection after the timeout is not counted twice', async (t) => {
  let rejectLate!: (error: Error) => void
  const { resolver, clock } = setup(async () => await new Promise<boolean>((_resolve, reject) => { rejectLate = reject }), { timeout: 100 })
  const waiting = resolver.decide(APP, request())
  clock.advance(100)
  await settled(waiting)
  rejectLate(new Error('late'))
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(resolver.stats.failures, 1)
})

t.test('a throwing, rejecting or non-boolean function refuses (fail closed) and says why; the timer is cleared', async (t) => {
  const cases: Array<[OriginsFunction, RegExp]> = [
    [() => { throw new TypeError('db down') }, /^threw TypeError: db down$/],
    [async () => await Promise.reject(new Error('timeout of pool')), /^rejected with Error: timeout of pool$/],
    // eslint-disable-next-line prefer-promise-reject-errors
    [async () => await Promise.reject('a string'), /^rejected with "a string"$/],
    [() => 'yes' as unknown as boolean, /^answered "yes", not true or false$/],
    [() => 1 as unknown as boolean, /^answered 1, not true or false$/],
    [() => undefined as unknown as boolean, /^answered undefined, not true or false$/],
    [() => null as unknown as boolean, /^answered null, not true or false$/],
    [() => ({ entry: APP }) as unknown as boolean, /^answered a value of type object, not true or false$/],
    [() => [APP] as unknown as boolean, /^answered a value of type array, not true or false$/],
    [() => 'x'.repeat(80) as unknown as boolean, /^answered "x{50}…", not true or false$/]
  ]
  for (const [answer, detail] of cases) {
    const { resolver, clock } = setup(answer, { failureTtl: 0 })
    const decision = await settled(resolver.decide(APP, request()))
    t.match(decision, { allowed: false, reason: 'lookup-failed', detail })
    t.equal(clock.timers, 0, 'no timer left behind')
    t.equal(resolver.size, 0, 'failureTtl 0: the failure is not memoized')
    t.equal(resolver.stats.failures, 1)
  }
})

t.test('the static pre-checks run first: the function only ever sees what a browser sends', async (t) => {
  const { resolver, calls } = setup(() => true)
  t.same(resolver.decide(undefined, request()), { allowed: false, reason: 'absent' })
  t.same(resolver.decide(`https://${'a'.repeat(MAX_ORIGIN_LENGTH)}.example`, request()), { allowed: false, reason: 'too-long' })
  for (const origin of ['null', 'NULL', 'https://App.example.com', 'https://app.example.com/', 'https://app.example.com:443', 'http://app.example.com:80',
    'ftp://app.example.com', 'chrome-extension://abcdef', 'https://app.example.com, https://evil.example', 'https://a b.example', 'https://bücher.example',
    'https://user@app.example.com', 'file://', '']) {
    t.same(resolver.decide(origin, request()), { allowed: false, reason: 'malformed' }, origin)
  }
  t.match(resolver.decide(APP, request('x'.repeat(MAX_ORIGIN_LENGTH + 1))), { allowed: false, reason: 'lookup-failed', detail: /Host header/ })
  t.same(calls, [])
  t.equal((await settled(resolver.decide('http://[::1]:3000', { headers: {} } as unknown as IncomingMessage))).allowed, true, 'no Host: the key is the origin alone')
})

t.test('originsCache is validated: unknown names with the closest one, ranges, only with an origins function', async (t) => {
  t.equal(resolveOriginsCache(undefined, true), defaultOriginsCache)
  t.equal(resolveOriginsCache(undefined, false), defaultOriginsCache)
  t.same(resolveOriginsCache({ ttl: 5, timeout: undefined }, true), { ...defaultOriginsCache, ttl: 5 })
  t.ok(Object.isFrozen(defaultOriginsCache))
  const cases: Array<[unknown, boolean, string, RegExp]> = [
    [{ ttl: 1 }, false, 'originsCache', /origins is not a function/],
    [5, true, 'originsCache', /5 is not an options object/],
    [null, true, 'originsCache', /null is not an options object/],
    [[], true, 'originsCache', /array is not an options object/],
    [{ tll: 1 }, true, 'originsCache.tll', /rename it to `ttl`/],
    [{ zzzzzzzz: 1 }, true, 'originsCache.zzzzzzzz', /the options are ttl, negativeTtl/],
    [{ ttl: 0 }, true, 'originsCache.ttl', /0 is not a whole number from 1/],
    [{ ttl: '60s' }, true, 'originsCache.ttl', /"60s" is not a whole number/],
    [{ negativeTtl: -1 }, true, 'originsCache.negativeTtl', /from 0 to/],
    [{ failureTtl: 1.5 }, true, 'originsCache.failureTtl', /1.5 is not a whole number/],
    [{ max: 0 }, true, 'originsCache.max', /from 1 to/],
    [{ timeout: 2 ** 31 }, true, 'originsCache.timeout', /from 1 to 2147483647/],
    [{ maxLookupsPerSecond: 0 }, true, 'originsCache.maxLookupsPerSecond', /from 1 to/],
    [{ maxLookupsPerSecond: () => 5 }, true, 'originsCache.maxLookupsPerSecond', /a value of type function is not/]
  ]
  for (const [value, dynamic, setting, message] of cases) {
    const error = t.throws(() => resolveOriginsCache(value, dynamic)) as CorsConfigError
    t.ok(error instanceof CorsConfigError, setting)
    t.equal(error.setting, setting)
    t.match(error.message, message)
  }
})

t.test('the default options and clock: real timers, unref\'d, cleared when the function answers', async (t) => {
  t.equal((await settled(new OriginResolver(() => true).decide(APP, request()))).allowed, true)
  const hanging = new OriginResolver(async () => await new Promise<boolean>(() => {}), resolveOriginsCache({ timeout: 1 }, true))
  // The resolver's timer is unref'd: this one keeps the test's process alive until it fires.
  const keepAlive = setTimeout(() => {}, 5000)
  t.teardown(() => { clearTimeout(keepAlive) })
  t.equal((await settled(hanging.decide(APP, request()))).reason, 'lookup-failed')
})

t.test('describeDecision tells a dynamic decision for the operator', async (t) => {
  t.equal(describeDecision(APP, { allowed: true, reason: 'dynamic', entry: APP }), `Origin "${APP}" is allowed by the origins function`)
  t.equal(describeDecision(APP, { allowed: false, reason: 'lookup-failed', detail: 'threw Error: x' }), `Origin "${APP}" is refused: the origins function failed (threw Error: x)`)
  t.match(describeDecision(APP, { allowed: false, reason: 'lookup-limited' }), /maxLookupsPerSecond/)
})
