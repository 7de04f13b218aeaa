import t from 'tap'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { ALLOWED, pollingHandshake, raw, rawExchange, rawUpgrade, startApp, upgradeLines } from './helpers/realtime.js'

// An exception in a listener of the raw server is an uncaught exception of the whole process (Node
// emits 'request'/'upgrade' synchronously): the gate must answer or close instead. If it did not, the
// throw below would end this test process.

type Engine = { handleRequest: (request: IncomingMessage, response: ServerResponse) => void, handleUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void }

/** Makes the engine's next call of `method` run `instead` (which throws), then restores it. */
function failOnce<K extends keyof Engine> (engine: Engine, method: K, instead: Engine[K]): void {
  const original = engine[method]
  engine[method] = ((...args: Parameters<Engine[K]>) => {
    engine[method] = original
    ;(instead as (...a: unknown[]) => void)(...args)
  }) as Engine[K]
}

t.test('a throw in the request path answers 500, is logged at error, and the next request is served', async (t) => {
  const { app, url, logs } = await startApp(t)
  const engine = app.io.engine as unknown as Engine
  failOnce(engine, 'handleRequest', () => { throw new Error('engine exploded') })
  const failed = await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED } })
  t.equal(failed.status, 500)
  t.match(JSON.parse(failed.body), { statusCode: 500, code: 'GATE_FAILURE' })
  t.notMatch(failed.body, /exploded/, 'the error stays in the log')
  t.equal(failed.headers['access-control-allow-origin'], undefined, 'no grant left over from before the throw')
  t.ok(logs.some((line) => line.level === 50 && (line.err as { message?: string } | undefined)?.message === 'engine exploded'), 'logged at error')
  await pollingHandshake(url())
})

t.test('a throw after the response started cuts the connection, and the next request is served', async (t) => {
  const { app, url } = await startApp(t)
  failOnce(app.io.engine as unknown as Engine, 'handleRequest', (_request, response) => {
    response.writeHead(200, { 'content-length': '10' })
    response.write('half')
    throw new Error('engine exploded mid-answer')
  })
  await t.rejects(raw(`${url()}?EIO=4&transport=polling`, { headers: { origin: ALLOWED } }), 'the response is cut, not completed')
  await pollingHandshake(url())
})

t.test('a throw in the upgrade path answers a raw 500 and closes, and the next upgrade is served', async (t) => {
  const { app, port, counters } = await startApp(t)
  failOnce(app.io.engine as unknown as Engine, 'handleUpgrade', () => { throw new Error('upgrade exploded') })
  const failed = await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin: ALLOWED })
  t.equal(failed.statusLine, 'HTTP/1.1 500 Internal Server Error')
  t.match(failed.received, /GATE_FAILURE/)
  t.ok(failed.closed)
  const next = await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin: ALLOWED })
  t.equal(next.status, 101)
  t.equal(counters.engine, 1)
})

t.test('a throw in the upgrade path after something was written only closes the connection', async (t) => {
  const { app, port } = await startApp(t)
  failOnce(app.io.engine as unknown as Engine, 'handleUpgrade', (_request, socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\n')
    throw new Error('upgrade exploded mid-answer')
  })
  const failed = await rawExchange(port, upgradeLines(port, '/socket.io/?EIO=4&transport=websocket', { origin: ALLOWED }))
  t.ok(failed.closed)
  t.notMatch(failed.received, /500/, 'no second status line after the first')
  t.equal((await rawUpgrade(port, '/socket.io/?EIO=4&transport=websocket', { origin: ALLOWED })).status, 101)
})
