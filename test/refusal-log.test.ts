import t from 'tap'
import { RefusalLog } from '../lib/refusal-log.js'

const MINUTE = 60_000

t.test('the first refusal of an origin is logged, with nothing suppressed', async (t) => {
  t.equal(new RefusalLog().take('https://evil.example', '', 1000), 0)
})

t.test('a second refusal of the same origin within a minute is not logged', async (t) => {
  const log = new RefusalLog()
  log.take('https://evil.example', '', 1000)
  t.equal(log.take('https://evil.example', '', 1000 + MINUTE - 1), undefined)
})

t.test('the same origin is logged again once a minute has passed', async (t) => {
  const log = new RefusalLog()
  log.take('https://evil.example', '', 1000)
  t.equal(log.take('https://evil.example', '', 1000 + MINUTE), 0)
})

t.test('the same origin refused for another reason within the minute gets a line of its own', async (t) => {
  const log = new RefusalLog()
  t.equal(log.take('https://evil.example', 'not-listed', 1000), 0)
  t.equal(log.take('https://evil.example', 'not-listed', 1001), undefined)
  t.equal(log.take('https://evil.example', 'port-differs', 1002), 1, 'a live update changed why it is refused')
  t.equal(log.take('https://evil.example', 'port-differs', 1003), undefined)
})

t.test('without a clock, it reads the coarse one: one line, then suppressed', async (t) => {
  const log = new RefusalLog()
  t.equal(log.take('https://evil.example'), 0)
  t.equal(log.take('https://evil.example'), undefined)
})

t.test('other origins are logged independently', async (t) => {
  const log = new RefusalLog()
  log.take('https://evil.example', '', 1000)
  t.equal(log.take('https://other.example', '', 1001), 0)
})

t.test('the next logged line reports how many refusals went unlogged, then resets', async (t) => {
  const log = new RefusalLog()
  log.take('https://evil.example', '', 1000)
  log.take('https://evil.example', '', 1001)
  log.take('https://evil.example', '', 1002)
  t.equal(log.take('https://other.example', '', 1003), 2)
  t.equal(log.take('https://third.example', '', 1004), 0)
})

t.test('at most maxLinesPerInterval lines are logged per interval, whatever the origins', async (t) => {
  const log = new RefusalLog({ maxLinesPerInterval: 2 })
  t.equal(log.take('https://r1.example', '', 1000), 0)
  t.equal(log.take('https://r2.example', '', 1001), 0)
  t.equal(log.take('https://r3.example', '', 1002), undefined)
  t.equal(log.take('https://r3.example', '', 1000 + MINUTE), 1, 'a new interval logs again and counts the dropped line')
})

t.test('memory is bounded: beyond maxOrigins the oldest origin is forgotten', async (t) => {
  const log = new RefusalLog({ maxOrigins: 2 })
  log.take('https://r1.example', '', 1000)
  log.take('https://r2.example', '', 1001)
  log.take('https://r3.example', '', 1002)
  t.equal(log.take('https://r2.example', '', 1003), undefined, 'r2 is still remembered')
  t.equal(log.take('https://r1.example', '', 1004), 1, 'r1 was forgotten, so it is logged again')
})

t.test('a custom interval applies', async (t) => {
  const log = new RefusalLog({ intervalMs: 10 })
  log.take('https://evil.example', '', 1000)
  t.equal(log.take('https://evil.example', '', 1009), undefined)
  t.equal(log.take('https://evil.example', '', 1010), 1)
})

t.test('without a time argument, the current time is used', async (t) => {
  const log = new RefusalLog()
  t.equal(log.take('https://evil.example'), 0)
  t.equal(log.take('https://evil.example'), undefined)
})

t.test('total counts every refusal, logged or not', async (t) => {
  const log = new RefusalLog()
  t.equal(log.total, 0)
  log.take('https://evil.example', '', 1000)
  log.take('https://evil.example', '', 1001)
  log.take('https://other.example', '', 1002)
  t.equal(log.total, 3)
})
