import t from 'tap'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { connect as netConnect, type Socket as NetSocket } from 'node:net'
import type { Duplex } from 'node:stream'
import Fastify from 'fastify'
import type { CorsPolicyOptions } from '../lib/config.js'
import { CorsConfigError } from '../lib/errors.js'
import type { OriginsFunction } from '../lib/origin-resolver.js'
import { corsPolicy } from '../plugins/cors.js'
import {
  ALLOWED, EVIL, pollingHandshake, raw, rawUpgrade, startApp, until, upgradeLines, WAIT_MS, within, type LogLine, type TestLike
} from './helpers/realtime.js'

const TENANT = 'https://tenant.example'
const WEBSOCKET = '/socket.io/?EIO=4&transport=websocket'
const POLLING = '/socket.io/?EIO=4&transport=polling'

/** An `origins` function over a set, recording every call as `origin host`. */
function counting (allowed: readonly string[] = [ALLOWED]): { origins: OriginsFunction, calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    origins: async (origin, request) => {
      calls.push(`${origin} ${request.headers.host ?? ''}`)
      return allowed.includes(origin)
    }
  }
}

/** An `origins` function whose calls wait until the test releases them. */
function held (): { origins: OriginsFunction, calls: string[], release: (answer: boolean) => void } {
  const calls: string[] = []
  const waiting: Array<(answer: boolean) => void> = []
  return {
    calls,
    origins: async (origin) => {
      calls.push(origin)
      return await new Promise<boolean>((resolve) => { waiting.push(resolve) })
    },
    release: (answer) => { for (const resolve of waiting.splice(0)) resolve(answer) }
  }
}

async function startDynamic (t: TestLike, cors: CorsPolicyOptions): Promise<Awaited<ReturnType<typeof startApp>>> {
  return await startApp(t, {
    cors,
    after: (app) => { app.get('/api', async () => ({ ok: true })) }
  })
}

function lookupLines (logs: readonly LogLine[], reason: string): LogLine[] {
  return logs.filter((line) => line.reason === reason)
}

t.test('one decision for an HTTP route, a preflight, a polling handshake, a polling request with sid and a WebSocket upgrade', async (t) => {
  const { origins, calls } = counting()
  const { url, port, origin: base, counters } = await startDynamic(t, { origins })
  const host = `127.0.0.1:${port}`

  const route = await raw(`${base}/api`, { headers: { origin: ALLOWED } })
  t.equal(route.status, 200)
  t.equal(route.headers['access-control-allow-origin'], ALLOWED, 'the allowed origin is echoed')
  t.equal(route.headers['access-control-allow-credentials'], 'true')
  t.equal(route.headers.vary, 'Origin')
  t.same(calls, [`${ALLOWED} ${host}`], 'the function saw the origin and the request\'s Host')

  const preflight = await raw(`${base}/api`, { method: 'OPTIONS', headers: { origin: ALLOWED, 'access-control-request-method': 'PUT' } })
  t.equal(preflight.status, 204)
  t.equal(preflight.headers['access-control-allow-origin'], ALLOWED)
  const sid = await pollingHandshake(url())
  const poll = await raw(`${url()}?EIO=4&transport=polling&sid=${sid}`, { headers: { origin: ALLOWED } })
  t.equal(poll.status, 200)
  t.equal(poll.headers['access-control-allow-origin'], ALLOWED)
  t.equal((await rawUpgrade(port, WEBSOCKET, { origin: ALLOWED })).status, 101)
  t.equal(calls.length, 1, 'one call served every kind of request: the memo is shared')

  for (const refused of [
    await raw(`${base}/api`, { headers: { origin: EVIL } }),
    await raw(`${base}/api`, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'PUT' } }),
    await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: EVIL } }),
    await raw(`${url()}?EIO=4&transport=polling&sid=${sid}`, { headers: { origin: EVIL } })
  ]) {
    t.equal(refused.status, 403)
    t.equal(refused.headers['access-control-allow-origin'], undefined)
    t.match(refused.headers.vary, /Origin/)
    t.match(JSON.parse(refused.body), { code: 'ORIGIN_REFUSED' })
  }
  const upgrade = await rawUpgrade(port, WEBSOCKET, { origin: EVIL })
  t.equal(upgrade.statusLine, 'HTTP/1.1 403 Forbidden')
  t.ok(upgrade.closed)
  t.equal(calls.length, 2, 'the refusal was looked up once, then memoized')
  t.equal(counters.engine, 2, 'only the allowed handshake and upgrade opened sessions')
})

t.test('the memo is per Host: another tenant\'s Host is asked separately', async (t) => {
  const calls: string[] = []
  const origins: OriginsFunction = (origin, request) => {
    calls.push(request.headers.host ?? '')
    return request.headers.host === 'a.example' && origin === TENANT
  }
  const { origin: base } = await startDynamic(t, { origins })
  t.equal((await raw(`${base}/api`, { headers: { origin: TENANT, host: 'a.example' } })).status, 200)
  t.equal((await raw(`${base}/api`, { headers: { origin: TENANT, host: 'b.example' } })).status, 403)
  t.same(calls, ['a.example', 'b.example'])
})

t.test('malformed, null and over-long Origins are refused without calling the function', async (t) => {
  const { origins, calls } = counting()
  const { origin: base, url } = await startDynamic(t, { origins })
  for (const origin of ['null', 'https://App.example', `${ALLOWED}/`, `${ALLOWED}:443`, 'ftp://app.example', `https://${'a'.repeat(300)}.example`]) {
    t.equal((await raw(`${base}/api`, { headers: { origin } })).status, 403, origin)
    t.equal((await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin } })).status, 403, origin)
  }
  t.same(calls, [])
})

t.test('a flood of distinct Origins: the function is called at most maxLookupsPerSecond times a second, the rest refused, counted, logged once', async (t) => {
  const { origins, calls } = counting()
  const cap = 5
  const { app, origin: base, logs } = await startDynamic(t, { origins, originsCache: { maxLookupsPerSecond: cap } })
  const flood = 300
  const started = Date.now()
  const statuses: number[] = []
  for (let batch = 0; batch < flood; batch += 30) {
    statuses.push(...(await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const origin = `https://flood-${batch + i}.example`
      const target = i % 2 === 0 ? `${base}/api` : `${base}${POLLING}`
      return (await raw(target, { headers: { origin } })).status
    }))))
  }
  // Windows are one second each, from the first call: this many of them can have begun since.
  const windows = Math.floor((Date.now() - started) / 1000) + 1
  t.ok(statuses.every((status) => status === 403), 'every flooded Origin refused')
  t.ok(calls.length >= 1 && calls.length <= cap * windows, `${calls.length} calls in ${windows} window(s), at most ${cap} each`)
  const stats = app.originPolicy.current.resolver?.stats
  t.equal(stats?.calls, calls.length)
  t.equal(stats?.limited, flood - calls.length, 'every refusal by the cap counted')
  const limitedLines = lookupLines(logs, 'lookup-limited')
  t.equal(limitedLines.length, 1, 'one log line for the whole flood')
  t.match(limitedLines[0], { level: 40, fix: /maxLookupsPerSecond/ })
  // The allowed origin passes again once a window has room (refusals by the cap are not memoized).
  await within((async () => {
    while ((await raw(`${base}/api`, { headers: { origin: ALLOWED } })).status !== 200) await new Promise((resolve) => setTimeout(resolve, 100))
  })(), 'the allowed origin to pass in a later rate window')
})

t.test('a slow function is refused at its timeout (403 on HTTP and engine.io, logged with the detail), not memoized beyond failureTtl', async (t) => {
  const { origins, calls, release } = held()
  const { url, port, origin: base, logs, counters } = await startDynamic(t, { origins, originsCache: { timeout: 50, failureTtl: 0 } })
  t.teardown(() => { release(true) })
  const route = await raw(`${base}/api`, { headers: { origin: ALLOWED } })
  t.equal(route.status, 403)
  t.match(JSON.parse(route.body), { code: 'ORIGIN_REFUSED' })
  t.equal((await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED } })).status, 403)
  const upgrade = await rawUpgrade(port, WEBSOCKET, { origin: ALLOWED })
  t.equal(upgrade.statusLine, 'HTTP/1.1 403 Forbidden')
  t.equal(calls.length, 3, 'failureTtl 0: every request asked again')
  t.equal(counters.engine, 0)
  const lines = lookupLines(logs, 'lookup-failed')
  t.equal(lines.length, 1, 'logged once a minute, not per request')
  t.match(lines[0], { level: 40, detail: /no answer within 50 ms/, origin: ALLOWED })
})

t.test('a throwing function refuses (fail closed) with a log line, and answers again once it recovers', async (t) => {
  let down = true
  const origins: OriginsFunction = (origin) => {
    if (down) throw new Error('database unreachable')
    return origin === ALLOWED
  }
  const { url, port, origin: base, logs } = await startDynamic(t, { origins, originsCache: { failureTtl: 0 } })
  t.equal((await raw(`${base}/api`, { headers: { origin: ALLOWED } })).status, 403)
  t.equal((await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED } })).status, 403)
  t.equal((await rawUpgrade(port, WEBSOCKET, { origin: ALLOWED })).status, 403)
  t.match(lookupLines(logs, 'lookup-failed'), [{ detail: 'threw Error: database unreachable' }])
  down = false
  t.equal((await raw(`${base}/api`, { headers: { origin: ALLOWED } })).status, 200, 'the failure was not memoized as a refusal')
})

/** A client WebSocket text frame (masked with a zero key, as RFC 6455 §5.3 allows any key). */
function clientFrame (text: string): Buffer {
  const payload = Buffer.from(text)
  if (payload.length > 125) throw new Error('short frames only')
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload])
}

/** A raw TCP client that collects everything the server sends, as latin1. */
async function rawClient (port: number): Promise<{ socket: NetSocket, received: () => string }> {
  const socket = netConnect(port, '127.0.0.1')
  let received = ''
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => { received += chunk })
  socket.on('error', () => {})
  await within(new Promise((resolve) => socket.once('connect', resolve)), 'the TCP connection')
  return { socket, received: () => received }
}

t.test('an upgrade waits for its lookup without losing a byte the client sent meanwhile', async (t) => {
  const { origins, calls, release } = held()
  const { port } = await startDynamic(t, { origins })
  const { socket, received } = await rawClient(port)
  t.teardown(() => { socket.destroy() })
  // The first CONNECT comes with the request (Node hands it over as `head`); the second once the
  // gate waits for the lookup, so it sits in the socket's buffer.
  socket.write(Buffer.concat([Buffer.from(`${upgradeLines(port, WEBSOCKET, { origin: ALLOWED }).join('\r\n')}\r\n\r\n`), clientFrame('40{"token":"admin-token"}')]))
  await until(() => calls.length === 1, WAIT_MS, 'the lookup to start')
  socket.write(clientFrame('40/admin,{"token":"admin-token"}'))
  t.equal(received(), '', 'nothing answered before the decision')
  release(true)
  await until(() => received().includes('40/admin,{"sid"') && /40\{"sid"/.test(received()), WAIT_MS, 'both CONNECTs answered')
  t.match(received(), /^HTTP\/1\.1 101 /)
})

t.test('an upgrade whose client resets during the lookup is dropped; the server keeps serving', async (t) => {
  const { origins, calls, release } = held()
  const { app, port, counters } = await startDynamic(t, { origins })
  const { socket } = await rawClient(port)
  socket.write(`${upgradeLines(port, WEBSOCKET, { origin: ALLOWED }).join('\r\n')}\r\n\r\n`)
  await until(() => calls.length === 1, WAIT_MS, 'the lookup to start')
  const before = await connections(app.server)
  socket.resetAndDestroy()
  await within((async () => { while (await connections(app.server) >= before) await new Promise((resolve) => setTimeout(resolve, 10)) })(), 'the server to see the reset')
  release(true)
  // The sentinel: a new upgrade of the same (now memoized) origin is served, and is the only session.
  t.equal((await rawUpgrade(port, WEBSOCKET, { origin: ALLOWED })).status, 101)
  t.equal(counters.engine, 1, 'the reset upgrade was not handed to engine.io')
})

async function connections (server: { getConnections: (callback: (error: Error | null, count: number) => void) => void }): Promise<number> {
  return await new Promise((resolve) => { server.getConnections((_error, count) => { resolve(count) }) })
}

t.test('shutdown that begins during a lookup answers the waiting handshake and upgrade 503', async (t) => {
  const { origins, calls, release } = held()
  const { app, url, port } = await startApp(t, {
    cors: { origins },
    closeOnTeardown: false,
    // Runs after realtime's own preClose hook, which began the shutdown.
    after: (app) => { app.addHook('preClose', async () => { release(true) }) }
  })
  const handshake = raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED } })
  const upgrade = rawUpgrade(port, WEBSOCKET, { origin: ALLOWED })
  await until(() => calls.length === 1, WAIT_MS, 'the lookup to start')
  const closed = app.close()
  const [answered, upgraded] = await Promise.all([handshake, upgrade])
  await closed
  t.equal(answered.status, 503)
  t.match(JSON.parse(answered.body), { code: 'SERVER_CLOSING' })
  t.equal(upgraded.statusLine, 'HTTP/1.1 503 Service Unavailable')
})

type Engine = { handleRequest: (request: IncomingMessage, response: ServerResponse) => void, handleUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void }

t.test('a throw after a lookup answers 500 (request) or a raw 500 (upgrade), as on the synchronous path', async (t) => {
  const { origins } = counting()
  const { app, url, port, logs } = await startDynamic(t, { origins })
  const engine = app.io.engine as unknown as Engine
  const { handleRequest, handleUpgrade } = engine
  engine.handleRequest = () => { engine.handleRequest = handleRequest; throw new Error('engine exploded') }
  engine.handleUpgrade = () => { engine.handleUpgrade = handleUpgrade; throw new Error('upgrade exploded') }
  // A Host of its own each: each request waits for a lookup, so the throw happens on the asynchronous path.
  const failed = await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED, host: 'one.example' } })
  t.equal(failed.status, 500)
  t.match(JSON.parse(failed.body), { code: 'GATE_FAILURE' })
  const upgrade = await rawUpgrade(port, WEBSOCKET, { origin: ALLOWED, host: 'two.example' })
  t.equal(upgrade.statusLine, 'HTTP/1.1 500 Internal Server Error')
  t.ok(logs.filter((line) => line.level === 50).length >= 2, 'both logged at error')
  t.equal((await rawUpgrade(port, WEBSOCKET, { origin: ALLOWED })).status, 101, 'the next upgrade is served')
})

t.test('registration: originsCache is validated, and refused without an origins function', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ origins: [ALLOWED], originsCache: { ttl: 1000 } }, 'originsCache'],
    [{ origins: () => true, originsCache: 'fast' }, 'originsCache'],
    [{ origins: () => true, originsCache: { tll: 1000 } }, 'originsCache.tll'],
    [{ origins: () => true, originsCache: { max: 0 } }, 'originsCache.max'],
    [{ origins: () => true, originsCache: { timeout: -1 } }, 'originsCache.timeout'],
    [{ origins: () => true, originsCache: { maxLookupsPerSecond: 1.5 } }, 'originsCache.maxLookupsPerSecond'],
    [{ origins: () => true, originsCache: { negativeTtl: '10s' } }, 'originsCache.negativeTtl'],
    [{ origins: () => true, orignsCache: {} }, 'orignsCache']
  ]
  for (const [options, setting] of cases) {
    const app = Fastify()
    const error = await app.register(corsPolicy, options as CorsPolicyOptions).ready().then(() => undefined, (error: unknown) => error)
    await app.close()
    t.ok(error instanceof CorsConfigError, `${setting}: a CorsConfigError`)
    t.equal((error as CorsConfigError).setting, setting)
  }
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: () => true, originsCache: { ttl: 5 } })
  t.equal(app.originPolicy.current.resolver?.options.ttl, 5)
})

t.test('over inject(): a lookup holds the hook, a memo hit does not; the grant is the same', async (t) => {
  const { origins, calls } = counting([TENANT])
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins, credentials: true })
  app.get('/', async () => 'ok')
  for (let i = 0; i < 2; i++) {
    const response = await app.inject({ url: '/', headers: { origin: TENANT } })
    t.equal(response.statusCode, 200)
    t.equal(response.headers['access-control-allow-origin'], TENANT)
    t.equal(response.headers.vary, 'Origin')
  }
  t.equal(calls.length, 1)
})
