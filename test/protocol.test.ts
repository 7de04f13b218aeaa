import t from 'tap'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import * as api from '../index.js'
import { MAX_ORIGIN_LENGTH } from '../lib/origin-matcher.js'
import { ALERT_LEVELS, CONNECT_ERRORS, DASHBOARD_EVENTS, GATE_CODES, ORIGIN_REFUSED } from '../lib/protocol.js'
import { GATE_CODES as GATE_CODES_OF_GATE } from '../plugins/engine-gate.js'
import { CONNECT_ERRORS as CONNECT_ERRORS_OF_AUTH } from '../plugins/socket-auth.js'
import { ALLOWED, EVIL, USERS, client, connectError, connected, raw, rawPolling, rawUpgrade, startApp, within } from './helpers/realtime.js'

t.test('lib/protocol.ts imports nothing, so a browser client can bundle it as it is', async (t) => {
  const source = readFileSync(new URL('../lib/protocol.ts', import.meta.url), 'utf8')
  t.same(source.match(/^\s*import\b.*$|\bfrom\s+['"][^'"]+['"]|\brequire\s*\(|\bimport\s*\(/gm), null, 'no import, re-export, require or dynamic import')
  for (const table of [CONNECT_ERRORS, GATE_CODES, DASHBOARD_EVENTS, ALERT_LEVELS]) t.ok(Object.isFrozen(table), 'the tables are frozen')
})

t.test('the old names and the package entry give the same tables, and MAX_ORIGIN_LENGTH', async (t) => {
  t.equal(CONNECT_ERRORS_OF_AUTH, CONNECT_ERRORS)
  t.equal(GATE_CODES_OF_GATE, GATE_CODES)
  t.equal(api.CONNECT_ERRORS, CONNECT_ERRORS)
  t.equal(api.GATE_CODES, GATE_CODES)
  t.equal(api.ORIGIN_REFUSED, ORIGIN_REFUSED)
  t.equal(api.DASHBOARD_EVENTS, DASHBOARD_EVENTS)
  t.equal(api.ALERT_LEVELS, ALERT_LEVELS)
  t.equal(api.MAX_ORIGIN_LENGTH, MAX_ORIGIN_LENGTH)
})

const codeOf = (body: string): unknown => (JSON.parse(body) as { code?: unknown }).code

t.test('the codes of HTTP and gate refusals are the table\'s', async (t) => {
  const { app, url, port } = await startApp(t, { after: (app) => { app.get('/hello', async () => 'hi') } })
  const route = await app.inject({ url: '/hello', headers: { origin: EVIL } })
  t.equal(route.statusCode, 403)
  t.equal(codeOf(route.body), ORIGIN_REFUSED, 'an HTTP route')
  const handshake = `${url()}?EIO=4&transport=polling`
  t.equal(codeOf((await raw(handshake, { headers: { origin: EVIL } })).body), ORIGIN_REFUSED, 'an engine.io request')
  t.equal(codeOf((await raw(`${handshake}&j=0`, { headers: { origin: ALLOWED } })).body), GATE_CODES.jsonp)
  t.equal(codeOf((await raw(handshake, { headers: { 'sec-fetch-site': 'cross-site' } })).body), GATE_CODES.crossSite)
  const version = await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin: ALLOWED, 'sec-websocket-version': '8' })
  t.equal(codeOf(version.received.slice(version.head.length + 4)), GATE_CODES.websocketVersion)
  const engine = app.io.engine as unknown as { handleRequest: (request: IncomingMessage, response: ServerResponse) => void }
  const handleRequest = engine.handleRequest
  engine.handleRequest = () => {
    engine.handleRequest = handleRequest
    throw new Error('engine exploded')
  }
  t.equal(codeOf((await raw(handshake, { headers: { origin: ALLOWED } })).body), GATE_CODES.failure)
})

t.test('the gate\'s code during shutdown is the table\'s', async (t) => {
  const { app, url } = await startApp(t, { closeOnTeardown: false, realtime: { shutdownGraceMs: 30_000 } })
  const held = await rawPolling(url()) // has no namespace, so ignores the DISCONNECT and holds preClose open
  const socket = client(t, url('/'), { transports: ['websocket'], extraHeaders: { origin: ALLOWED }, auth: { token: 'user-token' } })
  await connected(socket)
  const told = new Promise((resolve) => { socket.once('disconnect', resolve) })
  const closed = app.close()
  await within(told, 'the client to be told shutdown has begun')
  t.equal(codeOf((await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED } })).body), GATE_CODES.closing)
  await held.post(['1']) // engine.io close packet: the held session ends, and so does preClose
  await within(closed, 'app.close() to resolve')
})

t.test('the connect_error messages are the table\'s', async (t) => {
  const { origin, url } = await startApp(t, {
    after: (app) => { app.io.of('/chat') },
    realtime: {
      maxNamespacesPerConnection: 2,
      authenticate: (handshake) => {
        if (handshake.auth.token === 'boom') throw new Error('boom')
        return USERS[handshake.auth.token as string]
      }
    }
  })
  t.equal((await connectError(client(t, origin))).message, CONNECT_ERRORS.unauthorized)
  t.equal((await connectError(client(t, `${origin}/admin`, { auth: { token: 'user-token' } }))).message, CONNECT_ERRORS.forbidden)
  t.equal((await connectError(client(t, origin, { auth: { token: 'boom' } }))).message, CONNECT_ERRORS.serverError)
  const session = await rawPolling(url())
  await session.post(['40{"token":"admin-token"}', '40/admin,{"token":"admin-token"}', '40/chat,{"token":"admin-token"}'])
  const packets = await session.pollUntil((got) => got.some((packet) => packet.startsWith('44/chat,')), 'the third CONNECT to be refused')
  t.ok(packets.includes(`44/chat,${JSON.stringify({ message: CONNECT_ERRORS.tooManyNamespaces })}`), 'over maxNamespacesPerConnection')
})
