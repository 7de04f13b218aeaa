import t from 'tap'
import { AlertLog } from '../lib/alert-log.js'
import { CorsConfigError } from '../lib/errors.js'

const at = Date.UTC(2026, 0, 1)

t.test('alerts get an id and a time; the backlog keeps the latest `limit`, oldest first', async (t) => {
  const log = new AlertLog(3, () => at)
  const added = [1, 2, 3, 4, 5].map((n) => log.add({ level: 'warning', message: `m${n}` }))
  t.match(added[0], { level: 'warning', message: 'm1', at: '2026-01-01T00:00:00.000Z', id: /^[0-9a-f-]{36}$/ })
  t.equal(new Set(added.map((alert) => alert.id)).size, 5, 'distinct ids')
  t.same(log.list().map((alert) => alert.message), ['m3', 'm4', 'm5'])
  const withDetails = log.add({ level: 'critical', message: 'disk', details: { free: 1 } })
  t.same(withDetails.details, { free: 1 })
  t.notOk('details' in added[0]!, 'no details key unless given')
})

t.test('acknowledge: once, by whom, only for an alert of the backlog', async (t) => {
  const log = new AlertLog(2, () => at)
  const first = log.add({ level: 'info', message: 'a' })
  t.same(log.acknowledge(first.id, 'u1'), { id: first.id, by: 'u1', at: '2026-01-01T00:00:00.000Z' })
  t.same(log.list()[0]!.acknowledged, { id: first.id, by: 'u1', at: '2026-01-01T00:00:00.000Z' }, 'a late dashboard sees it acknowledged')
  t.equal(log.acknowledge(first.id, 'u2'), undefined, 'already acknowledged')
  for (const bad of ['nope', 42, undefined, null, 'x'.repeat(65)]) t.equal(log.acknowledge(bad, 'u1'), undefined, `unknown id ${String(bad).slice(0, 10)}`)
  const dropped = log.add({ level: 'info', message: 'b' })
  log.add({ level: 'info', message: 'c' })
  log.add({ level: 'info', message: 'd' })
  t.same(log.list().map((alert) => alert.message), ['c', 'd'])
  t.equal(log.acknowledge(dropped.id, 'u1'), undefined, 'fell out of the backlog')
})

t.test('a backlog of 0 keeps nothing, and alerts still get ids', async (t) => {
  const log = new AlertLog(0)
  const alert = log.add({ level: 'info', message: 'a' })
  t.same(log.list(), [])
  t.equal(log.acknowledge(alert.id, 'u1'), undefined)
  t.ok(Date.parse(alert.at) > 0, 'the default clock')
})

t.test('bad alerts are refused with the fix', async (t) => {
  const log = new AlertLog(5)
  for (const [input, setting, pattern] of [
    [{ level: 'panic', message: 'x' }, 'alert.level', /panic is not an alert level.*info, warning, critical/],
    [null, 'alert.level', /undefined is not an alert level/],
    [{ level: 'info', message: '' }, 'alert.message', /1 to 2000 characters/],
    [{ level: 'info', message: 'x'.repeat(2001) }, 'alert.message', /not a non-empty string/],
    [{ level: 'info' }, 'alert.message', /not a non-empty string/]
  ] as const) {
    const error = t.throws(() => log.add(input as never)) as CorsConfigError
    t.ok(error instanceof CorsConfigError)
    t.equal(error.setting, setting)
    t.match(error.message, pattern)
  }
  t.same(log.list(), [], 'nothing kept')
})
