import t from 'tap'
import { EVIL, rawExchange, rawUpgrade, startApp, upgradeLines } from './helpers/realtime.js'

// hybi-08 browsers sent their origin as Sec-WebSocket-Origin; RFC 6455 §4.1 (version 13) moved it to
// Origin, the only header the policy reads. `ws` still accepts version 8.

t.test('a version 8 upgrade carrying Sec-WebSocket-Origin is refused 426 before engine.io', async (t) => {
  const { port, counters, logs } = await startApp(t)
  const path = '/socket.io/?EIO=4&transport=websocket'
  for (const version of ['8', '7', '']) {
    const headers = { 'sec-websocket-version': version, 'sec-websocket-origin': EVIL, cookie: 'session=user-token' }
    const upgrade = await rawExchange(port, upgradeLines(port, path, headers))
    t.equal(upgrade.statusLine, 'HTTP/1.1 426 Upgrade Required', `version ${JSON.stringify(version)}`)
    t.match(upgrade.head, /\r\nsec-websocket-version: 13(?:\r\n|$)/i, 'names the version it speaks (RFC 6455 §4.4)')
    t.match(upgrade.received, /WEBSOCKET_VERSION_UNSUPPORTED/)
    t.ok(upgrade.closed)
  }
  t.equal(counters.engine, 0)
  t.ok(logs.some((line) => line.code === 'WEBSOCKET_VERSION_UNSUPPORTED' && line.level === 40), 'refusal logged')
  // The sentinel: the same upgrade in version 13 opens a session.
  t.equal((await rawUpgrade(port, path, { cookie: 'session=user-token' })).status, 101)
  t.equal(counters.engine, 1)
})
