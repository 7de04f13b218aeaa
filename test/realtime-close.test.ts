import t from 'tap'
import { connect as netConnect } from 'node:net'
import type { Socket as EngineSocket } from 'engine.io'
import type { FastifyInstance } from 'fastify'
import type { Socket as ClientSocket } from 'socket.io-client'
import { ALLOWED, client, connectError, connected, startApp, until, waitFor, within } from './helpers/realtime.js'

/**
 * Closes the app and records, in order, when `app.close()` resolved and when the plugin's grace
 * deadline passed (a timer of the same length, armed just before the close). The order of those
 * events, not a measured duration, says whether the close waited for the deadline.
 */
async function closeRecording (app: FastifyInstance, shutdownGraceMs: number, events: string[]): Promise<void> {
  const deadline = setTimeout(() => { events.push('grace deadline') }, shutdownGraceMs)
  try {
    await within(app.close(), 'app.close() to resolve', shutdownGraceMs + 10_000)
    events.push('close resolved')
  } finally {
    clearTimeout(deadline)
  }
}

/** The server's engine.io sessions, each as it is at the end (its transport may have been upgraded). */
function recordSessions (app: FastifyInstance): EngineSocket[] {
  const sessions: EngineSocket[] = []
  app.io.engine.on('connection', (session: EngineSocket) => { sessions.push(session) })
  return sessions
}

async function serverConnections (app: FastifyInstance): Promise<number> {
  return await new Promise((resolve, reject) => { app.server.getConnections((error, count) => { error === null ? resolve(count) : reject(error) }) })
}

t.test('app.close() with hundreds of connected clients resolves before the grace deadline and leaves nothing open', async (t) => {
  // The clients share this process's event loop with the server: give them room under a loaded CI.
  const shutdownGraceMs = 5000
  const { app, origin, counters } = await startApp(t, { closeOnTeardown: false, realtime: { shutdownGraceMs } })
  const sessions = recordSessions(app)
  const sockets: ClientSocket[] = []
  const events: string[] = []
  const transports = [['websocket'], ['polling'], ['polling', 'websocket']] as const
  for (let batch = 0; batch < 6; batch++) {
    const started = Array.from({ length: 50 }, (_, i) => {
      const socket = client(t, origin, {
        transports: [...transports[(batch * 50 + i) % 3]!],
        extraHeaders: { origin: ALLOWED },
        auth: { token: i % 10 === 0 ? 'admin-token' : 'user-token' }
      })
      socket.on('disconnect', (reason) => { events.push(`disconnect: ${reason}`) })
      sockets.push(socket)
      return connected(socket)
    })
    await Promise.all(started)
  }
  // Some also on the dashboard namespace, sharing their manager's connection.
  const admins = sockets.filter((_, i) => i % 10 === 0).map((socket) => socket.io.socket('/admin', { auth: { token: 'admin-token' } }))
  for (const admin of admins) admin.on('disconnect', (reason) => { events.push(`disconnect: ${reason}`) })
  await Promise.all(admins.map((admin) => connected(admin)))
  t.equal(counters.namespaces.get('/'), 300)
  t.equal(counters.namespaces.get('/admin'), 30)

  await closeRecording(app, shutdownGraceMs, events)
  t.same(events.slice(330), ['close resolved'], 'the close waited for no deadline')
  t.same(new Set(events.slice(0, 330)), new Set(['disconnect: io server disconnect']),
    'every client was told before the close resolved; none timed out')
  t.ok(sockets.every((socket) => !socket.connected))
  t.equal(sessions.length, 300)
  // engine.io arms a 30 s timer when it closes a polling transport between two GETs; a closed
  // transport has run its close, which clears that timer (engine.io/lib/transports/polling.ts doClose()).
  t.ok(sessions.every((session) => session.readyState === 'closed' && session.transport.readyState === 'closed'),
    'every engine.io session and its transport closed')
  await until(() => sockets.every((socket) => socket.io.engine.readyState === 'closed'), undefined, 'every client connection to close')
  t.equal(await serverConnections(app), 0, 'no TCP connection left on the server')
})

t.test('app.close() is not held up by a client that was refused at the namespace', async (t) => {
  const shutdownGraceMs = 5000
  const { app, origin, counters } = await startApp(t, { closeOnTeardown: false, realtime: { shutdownGraceMs } })
  const sessions = recordSessions(app)
  // Refused by authenticate: the engine.io connection stays open, with no namespace joined.
  const refused = client(t, origin, { transports: ['websocket'], extraHeaders: { origin: ALLOWED } })
  t.equal((await connectError(refused)).message, 'unauthorized')
  const pollingRefused = client(t, origin, { transports: ['polling'], extraHeaders: { origin: ALLOWED } })
  t.equal((await connectError(pollingRefused)).message, 'unauthorized')
  t.equal(counters.engine, 2)
  const events: string[] = []
  await closeRecording(app, shutdownGraceMs, events)
  t.same(events, ['close resolved'], 'resolved before the grace deadline')
  t.ok(sessions.every((session) => session.readyState === 'closed'), 'both engine.io sessions closed')
  t.equal(await serverConnections(app), 0, 'no TCP connection left on the server')
})

t.test('app.close() with no client connected resolves', async (t) => {
  const { app } = await startApp(t, { closeOnTeardown: false })
  await app.close()
  t.equal(app.server.listening, false)
})

t.test('a WebSocket peer that ignores the disconnect and the close frame is cut after shutdownGraceMs', async (t) => {
  const shutdownGraceMs = 200
  const { app, port, counters } = await startApp(t, { closeOnTeardown: false, realtime: { shutdownGraceMs } })
  // A raw upgrade that answers nothing: the 101 arrives, then the peer goes silent but keeps the connection.
  const peer = netConnect(port, '127.0.0.1')
  t.teardown(() => { peer.destroy() })
  peer.on('error', () => {})
  peer.resume()
  const events: string[] = []
  const cut = waitFor(peer, 'close', { what: 'the server to cut the silent peer' }).then(() => { events.push('peer cut') })
  peer.write(['GET /socket.io/?EIO=4&transport=websocket HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Connection: Upgrade', 'Upgrade: websocket',
    'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', `Origin: ${ALLOWED}`, '', ''].join('\r\n'))
  await until(() => counters.engine === 1, undefined, 'engine connection')
  // Bounded well below ws's 30 s close timeout, which is what the peer would hold the close for if it were not cut.
  await closeRecording(app, shutdownGraceMs, events)
  await cut
  t.same(events.filter((event) => event !== 'peer cut'), ['grace deadline', 'close resolved'], 'the peer had its grace period, then the close went on')
  t.equal(await serverConnections(app), 0, 'no TCP connection left on the server')
})
