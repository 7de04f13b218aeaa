import t from 'tap'
import { connect as netConnect } from 'node:net'
import type { Socket as ClientSocket } from 'socket.io-client'
import { ALLOWED, client, connectError, connected, startApp, until } from './helpers/realtime.js'

/** TCP handles currently open in this process. */
const tcpHandles = (): number => process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap' || name === 'TCPServerWrap').length
/** Timers currently keeping this process alive. */
const timers = (): number => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length

t.test('app.close() with hundreds of connected clients resolves promptly and leaves no handle open', async (t) => {
  const baseline = tcpHandles()
  const baselineTimers = timers()
  // The clients share this process's event loop with the server: give them room under a loaded CI.
  const { app, origin, counters } = await startApp(t, { closeOnTeardown: false, realtime: { shutdownGraceMs: 5000 } })
  const sockets: ClientSocket[] = []
  const disconnects: string[] = []
  const transports = [['websocket'], ['polling'], ['polling', 'websocket']] as const
  for (let batch = 0; batch < 6; batch++) {
    const started = Array.from({ length: 50 }, (_, i) => {
      const socket = client(t, origin, {
        transports: [...transports[(batch * 50 + i) % 3]!],
        extraHeaders: { origin: ALLOWED },
        auth: { token: i % 10 === 0 ? 'admin-token' : 'user-token' }
      })
      socket.on('disconnect', (reason) => { disconnects.push(reason) })
      sockets.push(socket)
      return connected(socket)
    })
    await Promise.all(started)
  }
  // Some also on the dashboard namespace, sharing their manager's connection.
  const admins = sockets.filter((_, i) => i % 10 === 0).map((socket) => socket.io.socket('/admin', { auth: { token: 'admin-token' } }))
  for (const admin of admins) admin.on('disconnect', (reason) => { disconnects.push(reason) })
  await Promise.all(admins.map(connected))
  t.equal(counters.namespaces.get('/'), 300)
  t.equal(counters.namespaces.get('/admin'), 30)

  const started = Date.now()
  await app.close()
  const elapsed = Date.now() - started
  t.ok(elapsed < 4000, `closed in ${elapsed} ms`)
  await until(() => disconnects.length === 330, 3000, 'every client to see disconnect')
  t.same(new Set(disconnects), new Set(['io server disconnect']), 'clients were told, they did not time out')
  t.ok(sockets.every((socket) => !socket.connected))
  await until(() => tcpHandles() <= baseline, 3000, 'TCP handles to close')
  t.ok(tcpHandles() <= baseline, 'no TCP handle left open')
  // engine.io arms a 30 s timer when it closes a polling transport between two GETs; none may be left.
  t.ok(timers() <= baselineTimers, `no timer left (${timers()} now, ${baselineTimers} before)`)
})

t.test('app.close() is not held up by a client that was refused at the namespace', async (t) => {
  const baseline = tcpHandles()
  const { app, origin, counters } = await startApp(t, { closeOnTeardown: false })
  // Refused by authenticate: the engine.io connection stays open, with no namespace joined.
  const refused = client(t, origin, { transports: ['websocket'], extraHeaders: { origin: ALLOWED } })
  t.equal((await connectError(refused)).message, 'unauthorized')
  const pollingRefused = client(t, origin, { transports: ['polling'], extraHeaders: { origin: ALLOWED } })
  t.equal((await connectError(pollingRefused)).message, 'unauthorized')
  t.equal(counters.engine, 2)
  const started = Date.now()
  await app.close()
  const elapsed = Date.now() - started
  t.ok(elapsed < 3000, `closed in ${elapsed} ms`)
  await until(() => tcpHandles() <= baseline, 3000, 'TCP handles to close')
  t.ok(tcpHandles() <= baseline, 'no TCP handle left open')
})

t.test('app.close() with no client connected resolves', async (t) => {
  const { app } = await startApp(t, { closeOnTeardown: false })
  await app.close()
  t.equal(app.server.listening, false)
})

t.test('a WebSocket peer that ignores the disconnect and the close frame is cut after shutdownGraceMs', async (t) => {
  const baseline = tcpHandles()
  const { app, port, counters } = await startApp(t, { closeOnTeardown: false, realtime: { shutdownGraceMs: 200 } })
  // A raw upgrade that answers nothing: the 101 arrives, then the peer goes silent but keeps the connection.
  const peer = netConnect(port, '127.0.0.1')
  t.teardown(() => { peer.destroy() })
  peer.on('error', () => {})
  peer.resume()
  peer.write(['GET /socket.io/?EIO=4&transport=websocket HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Connection: Upgrade', 'Upgrade: websocket',
    'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', `Origin: ${ALLOWED}`, '', ''].join('\r\n'))
  await until(() => counters.engine === 1, 2000, 'engine connection')
  const started = Date.now()
  await app.close()
  const elapsed = Date.now() - started
  t.ok(elapsed >= 150 && elapsed < 1500, `closed in ${elapsed} ms`)
  await until(() => peer.destroyed || peer.readableEnded, 2000, 'peer to be cut')
  peer.destroy()
  await until(() => tcpHandles() <= baseline, 3000, 'TCP handles to close')
  t.ok(tcpHandles() <= baseline, 'no TCP handle left open')
})
