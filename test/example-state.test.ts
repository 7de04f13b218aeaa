import t from 'tap'
import { AdminPresence } from '../example/presence.js'
import { SESSION_MAX_AGE_SECONDS, SessionStore } from '../example/sessions.js'

t.test('sessions expire after their max age', async (t) => {
  let now = 1_000_000
  const sessions = new SessionStore(() => now)
  const user = { id: 'u-admin', name: 'admin', role: 'admin' } as const
  const id = sessions.create(user)
  t.not(sessions.create(user), id, 'every login gets its own id')
  t.same(sessions.find(id), user)
  now += SESSION_MAX_AGE_SECONDS * 1000 - 1
  t.same(sessions.find(id), user, 'still valid a moment before expiry')
  now += 1
  t.equal(sessions.find(id), undefined, 'expired')
  t.equal(sessions.size, 1, 'the expired session is forgotten')
  t.equal(sessions.find('never-issued'), undefined)
  t.equal(sessions.find(undefined), undefined)
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
