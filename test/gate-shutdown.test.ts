import t from 'tap'
import { Agent, type IncomingMessage } from 'node:http'
import { connect as http2Connect } from 'node:http2'
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net'
import type { Socket as EngineSession } from 'engine.io'
import Fastify from 'fastify'
import { corsPolicy } from '../plugins/cors.js'
import { realtime } from '../plugins/realtime.js'
import { ALLOWED, USERS, client, connected, pollingHandshake, raw, rawExchange, rawUpgrade, startApp, tokenUser, upgradeLines, until, within } from './helpers/realtime.js'

function deferred (): { promise: Promise<void>, resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((_resolve) => { resolve = _resolve })
  return { promise, resolve }
}

t.test('once shutdown begins: new sessions and upgrades get 503, a handshake in flight is closed at once, existing sessions still talk', async (t) => {
  const verifying = deferred()
  const release = deferred()
  const { app, url, port, counters } = await startApp(t, {
    closeOnTeardown: false,
    realtime: {
      shutdownGraceMs: 30_000, // the raw session below holds preClose open until the test closes it
      verifyHandshake: async (request: IncomingMessage) => {
        if (request.url?.includes('hold=1') === true) {
          verifying.resolve()
          await release.promise
        }
        return true
      }
    }
  })
  const rawSid = await pollingHandshake(url()) // ignores the DISCONNECT: it has no namespace
  const socket = client(t, url('/'), { transports: ['websocket'], extraHeaders: { origin: ALLOWED }, auth: { token: 'user-token' } })
  await connected(socket)
  const told = new Promise<string>((resolve) => { socket.once('disconnect', resolve) })
  const held = raw(`${url()}?EIO=4&transport=polling&hold=1`)
  await within(verifying.promise, 'verifyHandshake to be called', 5000)
  t.equal(counters.engine, 2)

  const closed = app.close()
  t.equal(await within(told, 'the client to be told to disconnect', 5000), 'io server disconnect', 'shutdown has begun')

  const handshake = await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED } })
  t.equal(handshake.status, 503, 'new polling session refused')
  t.match(JSON.parse(handshake.body), { statusCode: 503, code: 'SERVER_CLOSING' })
  t.equal(handshake.headers.vary, 'Origin')
  const upgrade = await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin: ALLOWED })
  t.equal(upgrade.statusLine, 'HTTP/1.1 503 Service Unavailable', 'new WebSocket session refused')
  t.ok(upgrade.closed)
  const sidUpgrade = await rawUpgrade(port, `/socket.io/?EIO=4&transport=websocket&sid=${rawSid}`, { origin: ALLOWED })
  t.equal(sidUpgrade.status, 503, 'upgrade of an existing session refused')
  t.equal(counters.engine, 2, 'no session opened')

  // The handshake that was in flight completes now: its session must not outlive the shutdown.
  const late = new Promise<EngineSession>((resolve) => { app.io.engine.once('connection', resolve) })
  release.resolve()
  const session = await within(late, 'the held handshake to open its session', 5000)
  await within(new Promise((resolve) => { session.once('close', resolve) }), 'the late session to be closed', 5000)
  t.equal((await held).status, 200)
  t.equal(app.io.engine.clientsCount, 1, 'engine.io forgot the late session; the raw one remains')

  // Requests of existing sessions pass: the raw session closes itself (engine.io close packet "1").
  const bye = await raw(`${url()}?EIO=4&transport=polling&sid=${rawSid}`, { method: 'POST', headers: { origin: ALLOWED, 'content-type': 'text/plain;charset=UTF-8' }, body: '1' })
  t.equal(bye.status, 200)
  await within(closed, 'app.close() to resolve', 5000)
})

/** A preClose hook registered after realtime's, so it runs once shutdown has begun (Fastify runs them in registration order), held until `release()`. */
function heldClose (): { hook: () => Promise<void>, entered: Promise<void>, release: () => void } {
  const entered = deferred()
  const held = deferred()
  return {
    hook: async () => {
      entered.resolve()
      await held.promise
    },
    entered: entered.promise,
    release: held.resolve
  }
}

t.test('once shutdown begins, every engine.io answer ends its keep-alive connection: a client retrying on one cannot hold app.close() open', async (t) => {
  const shutdown = heldClose()
  const { app, url } = await startApp(t, { closeOnTeardown: false, after: (app) => { app.addHook('preClose', shutdown.hook) } })
  let opened = 0
  let ended = 0
  app.server.on('connection', (socket: Socket) => {
    opened++
    socket.on('close', () => { ended++ })
  })
  // One connection at most, kept alive: a browser retrying on its connection pool.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { agent.destroy() })
  const before = await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED }, agent })
  t.equal(before.status, 200)
  t.equal(before.headers.connection, 'keep-alive', 'kept alive before shutdown')

  const closed = app.close()
  await within(shutdown.entered, 'shutdown to begin', 5000)
  const handshake = await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED }, agent })
  t.equal(opened, 1, 'the retry came on the kept-alive connection')
  t.equal(handshake.status, 503)
  t.equal(handshake.headers.connection, 'close')
  await until(() => ended === 1, 5000, 'the server to end that connection')
  // Existing sessions' requests still pass to engine.io (here an unknown one: 400); their answers end the connection too.
  const probe = await raw(`${url()}?EIO=4&transport=polling&sid=unknown`, { method: 'POST', headers: { origin: ALLOWED, 'content-type': 'text/plain;charset=UTF-8' }, body: '', agent })
  t.equal(probe.status, 400)
  t.equal(probe.headers.connection, 'close')
  await until(() => ended === 2, 5000, 'the server to end the second connection')
  t.equal(opened, 2)
  shutdown.release()
  await within(closed, 'app.close() to resolve', 5000)
})

t.test('on HTTP/2, which forbids a Connection header, shutdown answers new sessions 503 SERVER_CLOSING without one', async (t) => {
  const shutdown = heldClose()
  const app = Fastify({ http2: true })
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [ALLOWED] })
  await app.register(realtime, { authenticate: tokenUser, isAdmin: () => true })
  app.addHook('preClose', shutdown.hook)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const session = http2Connect(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)
  t.teardown(() => { session.destroy() })
  const warnings: Error[] = []
  const keepWarning = (warning: Error): void => { warnings.push(warning) }
  process.on('warning', keepWarning)
  t.teardown(() => { process.off('warning', keepWarning) })
  const closed = app.close()
  await within(shutdown.entered, 'shutdown to begin', 5000)
  const answer = await within(new Promise<{ status: unknown, body: string }>((resolve, reject) => {
    const stream = session.request({ ':path': '/socket.io/?EIO=4&transport=polling', origin: ALLOWED })
    let status: unknown
    let body = ''
    stream.on('response', (headers) => { status = headers[':status'] })
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => { body += chunk })
    stream.on('end', () => { resolve({ status, body }) })
    stream.on('error', reject)
  }), 'the HTTP/2 answer', 5000)
  t.equal(answer.status, 503)
  t.match(JSON.parse(answer.body), { code: 'SERVER_CLOSING' })
  t.same(warnings.map((warning) => warning.message), [], 'no header Node must drop')
  // Before Node 24 an HTTP/2 server's close does not end its sessions (fastify `lib/server.js` does it only
  // with forceCloseConnections: true): the client ends its own.
  session.close()
  shutdown.release()
  await within(closed, 'app.close() to resolve', 5000)
})

t.test('an upgrade outside the path is closed at once when the gate is the only upgrade listener', async (t) => {
  const { port } = await startApp(t)
  const stray = await within(rawExchange(port, upgradeLines(port, '/not-socket-io')), 'the stray upgrade to be closed', 5000)
  t.ok(stray.closed)
  t.equal(stray.received, '', 'nothing answered')
})

/** A second upgrade listener that takes `/other/` and ignores every other path. */
function otherListener (claimed: Socket[]): (app: { server: { on: (event: 'upgrade', listener: (request: IncomingMessage, socket: Socket) => void) => unknown } }) => void {
  return (app) => {
    app.server.on('upgrade', (request, socket) => {
      if (request.url?.startsWith('/other/') !== true) return
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
      claimed.push(socket)
    })
  }
}

t.test('with another upgrade listener, an upgrade nobody answers is closed after destroyUpgradeTimeout; an answered one is not', async (t) => {
  const claimed: Socket[] = []
  const { port } = await startApp(t, { realtime: { destroyUpgradeTimeout: 200 }, after: otherListener(claimed) })
  t.teardown(() => { for (const socket of claimed) socket.destroy() })
  // The answered one first: its timer, if it had one, would fire before the stray's.
  const owned = netConnect(port, '127.0.0.1')
  t.teardown(() => { owned.destroy() })
  let received = ''
  owned.setEncoding('latin1')
  owned.on('data', (chunk: string) => { received += chunk })
  owned.write(`${upgradeLines(port, '/other/feed').join('\r\n')}\r\n\r\n`)
  await until(() => received.includes('101'), 5000, 'the other listener to answer')

  const stray = await within(rawExchange(port, upgradeLines(port, '/not-socket-io')), 'the stray upgrade to be closed', 5000)
  t.ok(stray.closed)
  t.equal(stray.received, '', 'nothing answered it')
  // Sentinel: the answered upgrade is still open and carries data after the stray was cut.
  claimed[0]!.write('sentinel')
  await until(() => received.includes('sentinel'), 5000, 'the sentinel on the answered upgrade')
  t.notOk(owned.destroyed)
})

t.test('with another upgrade listener, app.close() cuts an unanswered upgrade instead of hanging', async (t) => {
  const claimed: Socket[] = []
  const { app, port } = await startApp(t, { closeOnTeardown: false, realtime: { destroyUpgradeTimeout: 600_000 }, after: otherListener(claimed) })
  const stray = netConnect(port, '127.0.0.1')
  t.teardown(() => { stray.destroy() })
  stray.on('error', () => {})
  const cut = new Promise((resolve) => { stray.once('close', resolve) })
  let received = ''
  stray.setEncoding('latin1')
  stray.on('data', (chunk: string) => { received += chunk })
  const reached = new Promise((resolve) => { app.server.once('upgrade', resolve) })
  stray.write(`${upgradeLines(port, '/not-socket-io').join('\r\n')}\r\n\r\n`)
  await within(reached, 'the upgrade to reach the server', 5000)
  await within(app.close(), 'app.close() to resolve', 5000)
  await within(cut, 'the stray upgrade to be cut', 5000)
  t.equal(received, '', 'nothing was answered, it was cut')
})

t.test('two realtime instances: neither cuts an upgrade of the other\'s path, however slow its verifyHandshake', async (t) => {
  const verifying = deferred()
  const release = deferred()
  const auth = { authenticate: () => USERS['user-token'], isAdmin: () => false }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [ALLOWED] })
  await app.register(async (child) => { await child.register(realtime, { ...auth, path: '/one', destroyUpgradeTimeout: 100 }) })
  let sessionsOfTwo = 0
  await app.register(async (child) => {
    await child.register(realtime, {
      ...auth,
      path: '/two',
      destroyUpgradeTimeout: 100,
      verifyHandshake: async () => {
        verifying.resolve()
        await release.promise
        return true
      }
    })
    child.io.engine.on('connection', () => { sessionsOfTwo++ })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const slow = rawExchange(port, upgradeLines(port, '/two/?EIO=4&transport=websocket', { origin: ALLOWED }))
  await within(verifying.promise, 'the second instance to verify the handshake', 5000)
  // A stray upgrade that came later is cut by the timers: a timer on the slow upgrade would have fired first.
  const stray = await within(rawExchange(port, upgradeLines(port, '/neither')), 'the stray upgrade to be cut', 5000)
  t.ok(stray.closed)
  release.resolve()
  t.equal((await slow).status, 101, 'the slow upgrade was left to its own instance')
  t.equal(sessionsOfTwo, 1)
  t.equal((await rawUpgrade(port, '/one/?EIO=4&transport=websocket', { origin: ALLOWED })).status, 101, 'the first instance serves its path')
})
