import t from 'tap'
import { MAX_REFUSED_SHOWN, originsPanel, refusedTotal } from '../example/origins-panel.js'
import { AdminPresence } from '../example/presence.js'
import type { OriginDecision } from '../lib/origin-matcher.js'
import { REFUSAL_FIXES } from '../lib/origin-policy.js'
import { OriginStats } from '../lib/origin-stats.js'
import { SESSION_MAX_AGE_SECONDS, SessionStore } from '../example/sessions.js'

t.test('sessions expire after their max age, by the clock even before their timer fires', async (t) => {
  let now = 1_000_000
  const ended: string[] = []
  const sessions = new SessionStore({ now: () => now, onEnd: (id, reason) => { ended.push(`${id} ${reason}`) } })
  t.teardown(() => { sessions.close() })
  const user = { id: 'u-admin', name: 'admin', role: 'admin' } as const
  const id = sessions.create(user)
  t.not(sessions.create(user), id, 'every login gets its own id')
  t.same(sessions.find(id), user)
  now += SESSION_MAX_AGE_SECONDS * 1000 - 1
  t.same(sessions.find(id), user, 'still valid a moment before expiry')
  now += 1
  t.equal(sessions.find(id), undefined, 'expired')
  t.equal(sessions.size, 1, 'the expired session is forgotten')
  t.same(ended, [`${id} expired`], 'onEnd ran once, with the reason')
  t.equal(sessions.find('never-issued'), undefined)
  t.equal(sessions.find(undefined), undefined)
})

t.test('ending a session runs onEnd once; unknown ids and close() end nothing', async (t) => {
  const ended: string[] = []
  const sessions = new SessionStore({ ttlSeconds: 60, onEnd: (id, reason) => { ended.push(`${id} ${reason}`) } })
  const user = { id: 'u-user', name: 'user', role: 'user' } as const
  const id = sessions.create(user)
  const other = sessions.create(user)
  sessions.end(id, 'logged-out')
  sessions.end(id, 'logged-out')
  sessions.end(undefined, 'logged-out')
  sessions.end('never-issued', 'logged-out')
  t.same(ended, [`${id} logged-out`])
  t.equal(sessions.find(id), undefined)
  t.same(sessions.find(other), user, 'only that session ended')
  sessions.close()
  t.equal(sessions.size, 0)
  t.same(ended, [`${id} logged-out`], 'close() is a shutdown, not a logout: no onEnd')
})

t.test('without onEnd an ended session is just gone', async (t) => {
  const sessions = new SessionStore()
  const id = sessions.create({ id: 'u-user', name: 'user', role: 'user' })
  sessions.end(id, 'logged-out')
  t.equal(sessions.size, 0)
})

t.test('presence counts tabs per admin and forgets an admin with none left', async (t) => {
  const presence = new AdminPresence()
  presence.add({ id: 'a', name: 'ada' }, 's1')
  presence.add({ id: 'a', name: 'ada' }, 's2')
  presence.add({ id: 'b', name: 'bob' }, 's3')
  t.match(presence.list(), { admins: [{ id: 'a', name: 'ada', connections: 2 }, { id: 'b', name: 'bob', connections: 1 }] })
  presence.remove('a', 's1')
  presence.remove('b', 's3')
  t.match(presence.list(), { admins: [{ id: 'a', connections: 1 }] })
  t.equal(presence.list().admins.length, 1)
  presence.remove('b', 's3')
  t.equal(presence.list().admins.length, 1, 'removing a socket twice changes nothing')
})

t.test('the dashboard\'s origin panel lists refusals and would-be refusals most counted first, with reason and fix', async (t) => {
  const stats = new OriginStats(10)
  const notListed: OriginDecision = { allowed: false, reason: 'not-listed' }
  for (let i = 0; i < 3; i++) stats.count('https://evil.example', notListed, false, 'http')
  stats.count('https://partner.example', notListed, true, 'websocket')
  stats.count('https://app.example', { allowed: true, reason: 'exact', entry: 'https://app.example' }, false, 'http')
  stats.countSocket('connected')
  stats.countSocket('unauthorized')
  const panel = originsPanel(stats.snapshot('report-only', REFUSAL_FIXES))
  t.same(panel, {
    reportOnly: true,
    refused: [
      { origin: 'https://evil.example', reason: 'not-listed', fix: REFUSAL_FIXES['not-listed'], count: 3, served: false },
      { origin: 'https://partner.example', reason: 'not-listed', fix: REFUSAL_FIXES['not-listed'], count: 1, served: true }
    ],
    connectionSuccessRate: 0.5
  })
  t.equal(refusedTotal(stats.snapshot('block', REFUSAL_FIXES)), 3, 'would-be refusals were served, so not counted as refused')
  for (let i = 0; i < MAX_REFUSED_SHOWN + 5; i++) stats.count(`https://probe-${i}.example`, notListed, false, 'polling')
  t.equal(originsPanel(stats.snapshot('block', REFUSAL_FIXES)).refused.length, MAX_REFUSED_SHOWN, 'bounded')
})
