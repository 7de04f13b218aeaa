import t from 'tap'
import { systemClock, TopicCoalescer, type Clock } from '../lib/coalescer.js'
import { CorsConfigError } from '../lib/errors.js'

/** A clock the test moves by hand; timers fire in `advance`, in time order. */
function manualClock (): Clock & { advance: (ms: number) => void, pending: () => number } {
  let now = 1_000_000
  let nextId = 1
  const timers = new Map<number, { at: number, callback: () => void }>()
  return {
    now: () => now,
    setTimeout: (callback, ms) => {
      const id = nextId++
      timers.set(id, { at: now + ms, callback })
      return id
    },
    clearTimeout: (id) => { timers.delete(id as number) },
    pending: () => timers.size,
    advance (ms) {
      const end = now + ms
      for (;;) {
        const due = [...timers].filter(([, timer]) => timer.at <= end).sort(([, a], [, b]) => a.at - b.at)[0]
        if (due === undefined) break
        timers.delete(due[0])
        now = due[1].at
        due[1].callback()
      }
      now = end
    }
  }
}

function setup (options: { rates?: Record<string, number>, maxTopics?: number } = {}) {
  const clock = manualClock()
  const sent: Array<[string, unknown, number]> = []
  const coalescer = new TopicCoalescer<unknown>({
    intervalMs: (topic) => 1000 / (options.rates?.[topic] ?? 10),
    maxTopics: options.maxTopics ?? 10,
    send: (topic, value) => { sent.push([topic, value, clock.now()]) },
    clock
  })
  return { clock, sent, coalescer }
}

t.test('the first value goes out at once; a burst within the interval sends only its last value, at the interval\'s end', async (t) => {
  const { clock, sent, coalescer } = setup()
  const start = clock.now()
  coalescer.publish('cpu', 1)
  t.same(sent, [['cpu', 1, start]], 'leading edge')
  for (let n = 2; n <= 1000; n++) coalescer.publish('cpu', n)
  t.equal(sent.length, 1, 'nothing more before the interval ends')
  t.equal(clock.pending(), 1, 'one timer for the topic, however many publishes')
  clock.advance(100)
  t.same(sent, [['cpu', 1, start], ['cpu', 1000, start + 100]], 'the latest value, never the stale ones')
  clock.advance(1000)
  t.equal(sent.length, 2, 'nothing when nothing new was published')
  t.equal(clock.pending(), 0)
  coalescer.publish('cpu', 1001)
  t.same(sent[2], ['cpu', 1001, start + 1100], 'after a quiet interval, at once again')
})

t.test('a steady stream goes out at the topic\'s rate, each topic at its own', async (t) => {
  const { clock, sent, coalescer } = setup({ rates: { slow: 2 } })
  const start = clock.now()
  let maxPending = 0
  // 100,000 updates a second for one second, over two topics: 50 of each per ms.
  for (let ms = 0; ms < 1000; ms++) {
    for (let i = 0; i < 50; i++) {
      coalescer.publish('fast', ms * 50 + i)
      coalescer.publish('slow', ms * 50 + i)
    }
    maxPending = Math.max(maxPending, clock.pending())
    clock.advance(1)
  }
  const inTheSecond = sent.filter(([, , time]) => time < start + 1000)
  const fast = sent.filter(([topic]) => topic === 'fast')
  const slow = sent.filter(([topic]) => topic === 'slow')
  t.equal(inTheSecond.filter(([topic]) => topic === 'fast').length, 10, 'ten a second at the default rate of 10')
  t.equal(inTheSecond.filter(([topic]) => topic === 'slow').length, 2, 'two a second at its own rate of 2')
  t.same(fast.at(-1)?.slice(1), [49_999, start + 1000], 'the last value published goes out at the end of its interval')
  for (const series of [fast, slow]) {
    for (let i = 1; i < series.length; i++) {
      t.ok(series[i]![2] - series[i - 1]![2] >= 1000 / (series === fast ? 10 : 2), 'never two sends within the interval')
      t.ok((series[i]![1] as number) > (series[i - 1]![1] as number), 'each send newer than the last')
    }
  }
  t.equal(maxPending, 2, 'at most one timer per topic at any time')
  t.equal(clock.pending(), 0, 'none left once the last values went out')
})

t.test('current() gives the latest value of every topic, sent or not yet', async (t) => {
  const { coalescer } = setup()
  coalescer.publish('a', 1)
  coalescer.publish('b', 'x')
  coalescer.publish('a', 2) // coalesced, not yet sent
  t.same([...coalescer.current()], [['a', 2], ['b', 'x']])
})

t.test('topics are bounded: one more than maxTopics throws, naming the fix; known topics still publish', async (t) => {
  const { sent, coalescer } = setup({ maxTopics: 2 })
  coalescer.publish('a', 1)
  coalescer.publish('b', 1)
  const error = t.throws(() => { coalescer.publish('c', 1) }) as CorsConfigError
  t.ok(error instanceof CorsConfigError)
  t.equal(error.setting, 'maxTopics')
  t.match(error.message, /"c" would make 3 topics, over the limit of 2.*raise `maxTopics`/)
  t.same([...coalescer.current()].map(([topic]) => topic), ['a', 'b'], 'the refused topic is not kept')
  coalescer.publish('a', 2)
  t.equal(sent.length, 2, 'a')
})

t.test('close() cancels the pending sends and no timer is left', async (t) => {
  const { clock, sent, coalescer } = setup()
  coalescer.publish('a', 1)
  coalescer.publish('a', 2)
  coalescer.publish('b', 1)
  t.equal(clock.pending(), 1)
  coalescer.close()
  t.equal(clock.pending(), 0)
  clock.advance(1000)
  t.same(sent.map(([, value]) => value), [1, 1], 'the coalesced value 2 is never sent after close')
})

t.test('the system clock\'s timers run and cancel', async (t) => {
  t.ok(Math.abs(systemClock.now() - Date.now()) < 1000)
  const fired = await new Promise<boolean>((resolve) => { systemClock.setTimeout(() => { resolve(true) }, 1) })
  t.ok(fired)
  let cancelledFired = false
  const handle = systemClock.setTimeout(() => { cancelledFired = true }, 1)
  systemClock.clearTimeout(handle)
  await new Promise<void>((resolve) => { systemClock.setTimeout(resolve, 5) })
  t.notOk(cancelledFired, 'a cleared timer does not fire (a later timer did)')
})
