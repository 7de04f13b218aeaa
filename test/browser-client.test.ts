import t from 'tap'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { CHROMIUM_PATH, chromiumSkipReason, launchChromium } from './browser/chromium.js'
import { clientPage, stepResults } from './browser/client-page.js'
import { pageOrigins } from './browser/page-server.js'
import type {} from '../index.js'
import { startApp, tokenUser, within, type TestLike } from './helpers/realtime.js'
import type { SocketHandshake, SocketUser } from '../plugins/realtime-types.js'

declare module '../index.js' {
  interface DashboardEvents {
    'browser:cpu': number
  }
}

const skipReason = chromiumSkipReason(CHROMIUM_PATH, process.env)
if (skipReason !== undefined) console.error(skipReason)

t.test('fastify-cors-io/client in Chromium: every status and the diagnose report', { skip: skipReason ?? false }, async (t) => {
  // One page server under two origins: localhost is allowed, 127.0.0.1 is not.
  const pages = await pageOrigins(t)
  const { allowed, refused } = pages
  const browser: Browser = await launchChromium()
  t.teardown(() => browser.close())

  async function app (t: TestLike, port?: number) {
    return await startApp(t, { cors: { origins: [allowed] }, ...(port === undefined ? {} : { port }) })
  }
  async function newPage (t: TestLike, pageOrigin: string): Promise<{ page: Page, context: BrowserContext }> {
    const context = await browser.newContext()
    context.setDefaultTimeout(10_000)
    t.teardown(() => within(context.close(), 'the browser context to close', 15_000))
    const page = await context.newPage()
    await page.goto(`${pageOrigin}/`)
    return { page, context }
  }

  t.test('an admin on an allowed page: connected over WebSocket, and every diagnose step passes', async (t) => {
    const { origin } = await app(t)
    const { page } = await newPage(t, allowed)
    const dashboard = await clientPage(page, origin, { auth: { token: 'admin-token' } })
    t.match(await dashboard.until((status) => status.state === 'connected' && status.transport === 'websocket', 'connected over WebSocket'),
      { state: 'connected', transport: 'websocket', websocketBlocked: false })
    const report = await dashboard.diagnose()
    t.equal(report.ok, true)
    t.same(stepResults(report), { reachable: 'pass', origin: 'pass', 'logged-in': 'pass', admin: 'pass', polling: 'pass', websocket: 'pass' })
  })

  t.test('a refused page: status refused without retrying, and a report that names no allowed origin', async (t) => {
    const { origin, logs } = await app(t)
    const { page } = await newPage(t, refused)
    const dashboard = await clientPage(page, origin, { auth: { token: 'admin-token' } })
    await dashboard.until((status) => status.state === 'refused', 'refused')
    const report = await dashboard.diagnose()
    t.same(stepResults(report), { reachable: 'pass', origin: 'fail', 'logged-in': 'skip', admin: 'skip', polling: 'skip', websocket: 'skip' })
    t.match(report.failed?.cause, `refused this page's origin (${refused})`)
    t.notOk(JSON.stringify(report).includes(allowed), 'the allowlist is not revealed')
    t.notOk(JSON.stringify(report).includes(`localhost:${pages.port}`))
    // No retry: the socket made one attempt (its polling handshake and POST); the diagnose probes came after.
    const states = await dashboard.states()
    t.same(states.map((status) => status.state), ['connecting', 'refused'], 'never reconnecting')
    t.ok(logs.some((line) => line.msg.includes('refused')), 'the server logged the refusal')
  })

  t.test('logged out: unauthorized, and diagnose says so', async (t) => {
    const { origin } = await app(t)
    const { page } = await newPage(t, allowed)
    const dashboard = await clientPage(page, origin, {})
    await dashboard.until((status) => status.state === 'unauthorized', 'unauthorized')
    const report = await dashboard.diagnose()
    t.same(stepResults(report), { reachable: 'pass', origin: 'pass', 'logged-in': 'fail', admin: 'skip', polling: 'pass', websocket: 'pass' })
    t.match(report.failed?.fix, 'log in again')
  })

  t.test('a plain user: forbidden, and diagnose says not an admin', async (t) => {
    const { origin } = await app(t)
    const { page } = await newPage(t, allowed)
    const dashboard = await clientPage(page, origin, { auth: { token: 'user-token' } })
    await dashboard.until((status) => status.state === 'forbidden', 'forbidden')
    const report = await dashboard.diagnose()
    t.same(stepResults(report), { reachable: 'pass', origin: 'pass', 'logged-in': 'pass', admin: 'fail', polling: 'pass', websocket: 'pass' })
  })

  t.test('WebSockets blocked: connected on polling, saying so; diagnose points at the upgrade', async (t) => {
    // The CONNECT is answered only after the page's first WebSocket was dropped: engine.io-client probes
    // the upgrade as soon as the engine opens, so its failure may come before "connect" (a race that
    // once left the status without websocketBlocked); here it always does.
    let dropped!: () => void
    const firstDrop = new Promise<void>((resolve) => { dropped = resolve })
    const authenticate = async (handshake: SocketHandshake): Promise<SocketUser | undefined> => {
      await within(firstDrop, 'the page\'s first WebSocket to be dropped')
      await new Promise((resolve) => setTimeout(resolve, 200)) // for the page to see that close
      return tokenUser(handshake)
    }
    const { origin } = await startApp(t, { cors: { origins: [allowed] }, realtime: { authenticate } })
    const { page } = await newPage(t, allowed)
    // Every WebSocket the page opens is answered by Playwright and closed at once, as a proxy that drops upgrades.
    await page.routeWebSocket(/socket\.io/, (ws) => { ws.close({ code: 1006 }); dropped() })
    const dashboard = await clientPage(page, origin, { auth: { token: 'admin-token' } })
    t.match(await dashboard.until((status) => status.state === 'connected' && status.websocketBlocked, 'connected with the WebSocket blocked'),
      { state: 'connected', transport: 'polling', websocketBlocked: true })
    const report = await dashboard.diagnose()
    t.same(stepResults(report), { reachable: 'pass', origin: 'pass', 'logged-in': 'pass', admin: 'pass', polling: 'pass', websocket: 'fail' })
    t.match(report.failed?.fix, 'Upgrade')
  })

  t.test('the server stopped: reconnecting with back-off, offline while the browser is, then connected when it is back', async (t) => {
    const first = await startApp(t, { cors: { origins: [allowed] }, closeOnTeardown: false })
    const { page, context } = await newPage(t, allowed)
    const dashboard = await clientPage(page, first.origin, { auth: { token: 'admin-token' } }, { minDelayMs: 100, maxDelayMs: 400 })
    await dashboard.until((status) => status.state === 'connected', 'connected')
    const closed = first.app.close()
    const reconnecting = await dashboard.until((status) => status.state === 'reconnecting' && status.attempt >= 2, 'a second reconnect attempt')
    await within(closed, 'the first app to close', 15_000)
    t.match(reconnecting, { state: 'reconnecting', cause: String })
    const report = await dashboard.diagnose()
    t.same(stepResults(report), { reachable: 'fail', origin: 'skip', 'logged-in': 'skip', admin: 'skip', polling: 'skip', websocket: 'skip' })
    await context.setOffline(true)
    await dashboard.until((status) => status.state === 'offline', 'offline')
    const second = await app(t, first.port)
    await context.setOffline(false)
    await dashboard.until((status) => status.state === 'connected', 'connected again after the browser came online')
    t.equal(second.app.dashboard.namespace.sockets.size, 1)
  })

  t.test('a late-joining page gets the retained topics and the alerts backlog, and its acknowledgement reaches everyone', async (t) => {
    const { origin, app: server } = await app(t)
    for (let n = 1; n <= 1000; n++) server.dashboard.publish('browser:cpu', n)
    const alert = server.dashboard.alert({ level: 'warning', message: 'disk 90 % full' })
    const { page } = await newPage(t, allowed)
    const dashboard = await clientPage(page, origin, { auth: { token: 'admin-token' } })
    const received = await dashboard.firstEvents(['browser:cpu', 'dashboard:alerts'])
    t.same(received['browser:cpu'], 1000, 'the current value at once')
    t.match(received['dashboard:alerts'], [{ id: alert.id, message: 'disk 90 % full' }])
    t.match(await dashboard.ack(alert.id), { id: alert.id, by: 'u-admin' })
  })
})
