import t from 'tap'
import type { FastifyInstance } from 'fastify'
// Augmented the way a consumer does: through the package entry, which re-exports the interface.
import type { Dashboard, RealtimeServer, SocketUser } from '../index.js'
import { ALLOWED, client, connected, startApp, until } from './helpers/realtime.js'

// tap compiles this file with type checking (`typecheck: true`): every `@ts-expect-error` below must
// really be an error, or the unused directive itself fails the compile and the test.
declare module '../index.js' {
  interface DashboardEvents {
    'types:progress': { job: string, percent: number }
  }
}

/** Never called: its body only has to compile (or not, where marked). */
export function typeChecks (app: FastifyInstance): void {
  const dashboard: Dashboard = app.dashboard
  dashboard.broadcast('types:progress', { job: 'j1', percent: 50 })
  dashboard.toUser('u1').emit('types:progress', { job: 'j1', percent: 50 })
  dashboard.toRoom('ops').emit('types:progress', { job: 'j1', percent: 50 })
  // @ts-expect-error an event name that DashboardEvents does not declare
  dashboard.broadcast('types:unknown', { job: 'j1', percent: 50 })
  // @ts-expect-error a payload of the wrong type
  dashboard.broadcast('types:progress', { job: 'j1', percent: '50%' })
  // @ts-expect-error a payload missing a field
  dashboard.toUser('u1').emit('types:progress', { job: 'j1' })
  // @ts-expect-error an unknown event through toRoom
  dashboard.toRoom('ops').emit('types:nope', 1)

  const io: RealtimeServer = app.io
  io.of('/admin').emit('types:progress', { job: 'j1', percent: 1 })
  // @ts-expect-error fastify.io is the typed Server: unknown events do not compile either
  io.emit('types:unknown', 1)
  // @ts-expect-error nor wrong payloads
  io.to('room').emit('types:progress', 42)

  io.on('connection', (socket) => {
    const user: SocketUser = socket.data.user
    const id: string = user.id
    // @ts-expect-error socket.data.user is typed, not any
    const notANumber: number = socket.data.user.id
    socket.emit('types:progress', { job: id, percent: notANumber })
  })
}

t.test('a typed broadcast arrives as declared', async (t) => {
  const { origin, app } = await startApp(t)
  const socket = await connected(client(t, `${origin}/admin`, { extraHeaders: { origin: ALLOWED }, auth: { token: 'admin-token' } }))
  const received: unknown[] = []
  socket.on('types:progress', (payload: unknown) => { received.push(payload) })
  app.dashboard.broadcast('types:progress', { job: 'j1', percent: 50 })
  await until(() => received.length === 1, 2000, 'the event')
  t.same(received, [{ job: 'j1', percent: 50 }])
})
