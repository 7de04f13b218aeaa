import t from 'tap'
import type { Socket as EngineSession } from 'engine.io'
import { pollingHandshake, raw, startApp, within, type RealtimeApp } from './helpers/realtime.js'

/** The private close state of an engine.io polling transport (engine.io `build/transports/polling.js` `doClose()`). */
interface PollingInternals { readyState: string, shouldClose?: unknown, closeTimeout: number }

/**
 * Records the timers of `closeTimeout` ms armed until `stopArming()` (engine.io arms its polling close
 * timer with the global setTimeout), and every timer cleared until `stop()`.
 */
function watchCloseTimers (closeTimeout: number): { armed: NodeJS.Timeout[], cleared: Set<unknown>, stopArming: () => void, stop: () => void } {
  const { setTimeout: realSet, clearTimeout: realClear } = globalThis
  const armed: NodeJS.Timeout[] = []
  const cleared = new Set<unknown>()
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    const timer = realSet(...args)
    const ms = args[1]
    if (ms === closeTimeout) armed.push(timer)
    return timer
  }) as typeof setTimeout
  globalThis.clearTimeout = ((timer?: Parameters<typeof clearTimeout>[0]) => {
    cleared.add(timer)
    realClear(timer)
  }) as typeof clearTimeout
  return {
    armed,
    cleared,
    stopArming: () => { globalThis.setTimeout = realSet },
    stop: () => { globalThis.setTimeout = realSet; globalThis.clearTimeout = realClear }
  }
}

/** Opens a raw polling session; its sid and the server's engine.io socket. */
/** engine.io's POST body timeout is 30 s too: another length, so that only the close timer is watched. */
const OTHER_TIMEOUT = { httpRequestBodyTimeout: 10_000 }

async function sessionOf (app: RealtimeApp['app'], url: string): Promise<{ sid: string, session: EngineSession }> {
  const opened = new Promise<EngineSession>((resolve) => { app.io.engine.once('connection', resolve) })
  const sid = await pollingHandshake(url)
  return { sid, session: await within(opened, 'engine.io to open the session') }
}

t.test('a polling session socket.io closes between two polls is closed by app.close(), its 30 s close timer cleared', async (t) => {
  const { app, url } = await startApp(t, { closeOnTeardown: false, realtime: { shutdownGraceMs: 100, ...OTHER_TIMEOUT } })
  t.teardown(() => app.close())
  const { sid, session } = await sessionOf(app, url())
  const transport = session.transport as unknown as PollingInternals
  const timers = watchCloseTimers(transport.closeTimeout)
  t.teardown(timers.stop)
  // An EVENT for a namespace this connection never joined: socket.io `dist/client.js` `ondecoded()` closes
  // the connection, and with no poll pending engine.io waits for one (or 30 s) to send the close packet.
  const posted = await raw(`${url()}?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', headers: { origin: 'https://app.example', 'content-type': 'text/plain;charset=UTF-8' }, body: '42["hello"]' })
  timers.stopArming()
  t.equal(posted.status, 200)
  t.equal(session.readyState, 'closing', 'socket.io closed the session; engine.io waits for a poll')
  t.equal(transport.readyState, 'closing')
  t.equal(timers.armed.length, 1, 'engine.io armed its polling close timer')

  await within(app.close(), 'app.close() to resolve')
  t.equal(session.readyState, 'closed', 'the session is closed')
  t.equal(transport.readyState, 'closed', 'its transport is closed')
  t.notOk(typeof transport.shouldClose === 'function', 'no close is left pending on the transport')
  t.equal(app.io.engine.clientsCount, 0, 'engine.io holds no session')
  t.ok(timers.cleared.has(timers.armed[0]), 'the 30 s close timer was cleared')
})

t.test('a polling transport left closing by a session that already closed (ping timeout) is closed by app.close()', async (t) => {
  const { app, url } = await startApp(t, { closeOnTeardown: false, realtime: { pingInterval: 20, pingTimeout: 20, ...OTHER_TIMEOUT } })
  t.teardown(() => app.close())
  const timers = watchCloseTimers(30_000)
  t.teardown(timers.stop)
  const { session } = await sessionOf(app, url())
  const transport = session.transport as unknown as PollingInternals
  // Nobody polls: the ping goes unanswered, engine.io closes the session and asks the transport to close,
  // which waits for a poll (engine.io `build/socket.js` `clearTransport()`).
  await within(new Promise((resolve) => { session.once('close', resolve) }), 'the session to close on ping timeout')
  timers.stopArming()
  t.equal(transport.readyState, 'closing', 'the closed session left its transport closing')
  t.equal(timers.armed.length, 1, 'engine.io armed its polling close timer')

  await within(app.close(), 'app.close() to resolve')
  t.equal(transport.readyState, 'closed', 'the transport is closed')
  t.ok(timers.cleared.has(timers.armed[0]), 'the 30 s close timer was cleared')
})
