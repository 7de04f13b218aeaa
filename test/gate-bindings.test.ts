import t from 'tap'
import dns from 'node:dns'
import { createServer, type AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { corsPolicy } from '../plugins/cors.js'
import { serverBindingsOf } from '../plugins/engine-gate.js'
import { realtime } from '../plugins/realtime.js'
import { ALLOWED, EVIL, USERS, client, connected, pollingHandshake, raw, rawExchange, upgradeLines } from './helpers/realtime.js'

/** Whether this machine can listen on the IPv6 loopback at all. */
async function hasIpv6Loopback (): Promise<boolean> {
  return await new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => { resolve(false) })
    probe.listen(0, '::1', () => { probe.close(() => { resolve(true) }) })
  })
}

type Lookup = (...args: unknown[]) => void

/**
 * Makes `localhost` resolve to 127.0.0.1 and ::1, as /etc/hosts maps it on most machines (some map
 * only one), so that Fastify binds both here as it does there.
 */
function localhostResolvesToBoth (t: { teardown: (fn: () => void) => void }): void {
  const original = dns.lookup
  const stub: Lookup = (...args) => {
    const [host, options] = args as [string, unknown]
    const callback = args[args.length - 1] as (error: null, address: unknown, family?: number) => void
    if (host !== 'localhost') { (original as unknown as Lookup)(...args); return }
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true
    process.nextTick(() => {
      if (all) callback(null, [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }])
      else callback(null, '127.0.0.1', 4)
    })
  }
  ;(dns as unknown as { lookup: Lookup }).lookup = stub
  t.teardown(() => { dns.lookup = original })
}

const ipv6 = await hasIpv6Loopback()
if (!ipv6) console.error('# gate-bindings: SKIPPING the two-address test: this machine has no IPv6 loopback (::1)')

t.test('listen({ host: \'localhost\' }) serves and gates engine.io on every address it binds', {
  skip: ipv6 ? false : 'this machine has no IPv6 loopback (::1): Fastify would bind one address only'
}, async (t) => {
  localhostResolvesToBoth(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(corsPolicy, { origins: [ALLOWED], credentials: true })
  await app.register(realtime, { authenticate: (handshake) => USERS[handshake.auth.token as string], isAdmin: () => false })
  let sessions = 0
  app.io.engine.on('connection', () => { sessions++ })
  await app.listen({ port: 0, host: 'localhost' })
  const { port } = app.server.address() as AddressInfo
  t.same(app.addresses().map((address) => typeof address === 'string' ? address : address.address).sort(), ['127.0.0.1', '::1'], 'two servers listen')

  for (const host of ['127.0.0.1', '::1']) {
    const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
    const before = sessions
    await pollingHandshake(`${base}/socket.io/`)
    t.equal(sessions, before + 1, `${host}: polling handshake served by engine.io`)
    const refused = await raw(`${base}/socket.io/?EIO=4&transport=polling`, { headers: { origin: EVIL } })
    t.equal(refused.status, 403, `${host}: refused origin`)
    t.match(JSON.parse(refused.body), { code: 'ORIGIN_REFUSED' })
    const jsonp = await raw(`${base}/socket.io/?EIO=4&transport=polling&j=0`)
    t.match(JSON.parse(jsonp.body), { code: 'JSONP_REFUSED' }, `${host}: JSONP refused`)
    const upgrade = await rawExchange(port, upgradeLines(port, '/socket.io/?EIO=4&transport=websocket', { origin: EVIL }), host)
    t.equal(upgrade.statusLine, 'HTTP/1.1 403 Forbidden', `${host}: refused upgrade`)
    t.equal((await raw(`${base}/nothing-here`)).status, 404, `${host}: app routes still reach Fastify`)
    for (const transports of [['polling'], ['websocket']]) {
      const socket = client(t, base, { transports, extraHeaders: { origin: ALLOWED }, auth: { token: 'user-token' } })
      await connected(socket)
      t.ok(socket.connected, `${host}: a ${transports[0]!} client connects`)
      socket.disconnect()
    }
  }
})

t.test('serverBindingsOf finds Fastify\'s list, and fails loudly where there is none', async (t) => {
  const app = Fastify()
  t.same(serverBindingsOf(app), [])
  t.throws(() => serverBindingsOf({}), /cannot be gated; listen on one address/)
})
