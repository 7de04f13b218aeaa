import t from 'tap'
import type { Browser } from 'puppeteer-core'
import { clientPage, stepResults, type EvaluatingPage } from './browser/client-page.js'
import { FIREFOX_PATH, firefoxSkipReason, launchFirefox } from './browser/firefox.js'
import { startPageServer } from './browser/page-server.js'
import { startApp, within, type TestLike } from './helpers/realtime.js'

t.test('the CI rule: a missing Firefox fails on CI and skips loudly elsewhere', async (t) => {
  t.throws(() => firefoxSkipReason('/nonexistent/firefox', { CI: 'true' }), /CI=true but Firefox is missing at \/nonexistent\/firefox/)
  t.match(firefoxSkipReason('/nonexistent/firefox', {}), /^!!! FIREFOX TESTS SKIPPED: .*apt-get install firefox-esr/)
})

const skipReason = firefoxSkipReason(FIREFOX_PATH, process.env)
if (skipReason !== undefined) console.error(skipReason)

t.test('fastify-cors-io/client in Firefox: connected, refused, unauthorized, and their reports', { skip: skipReason ?? false }, async (t) => {
  const pages = await startPageServer()
  t.teardown(pages.close)
  const allowed = `http://localhost:${pages.port}`
  const refused = `http://127.0.0.1:${pages.port}`
  const browser: Browser = await within(launchFirefox(), 'Firefox to start', 60_000)
  t.teardown(() => browser.close())

  async function open (t: TestLike, pageOrigin: string, socket: Record<string, unknown>) {
    const { origin } = await startApp(t, { cors: { origins: [allowed] } })
    const context = await browser.createBrowserContext()
    t.teardown(() => context.close())
    const page = await context.newPage()
    await page.goto(`${pageOrigin}/`)
    return await clientPage(page as unknown as EvaluatingPage, origin, socket)
  }

  t.test('an admin on an allowed page: connected, every step passes', async (t) => {
    const dashboard = await open(t, allowed, { auth: { token: 'admin-token' } })
    t.match(await dashboard.until((status) => status.state === 'connected', 'connected'), { state: 'connected' })
    const report = await dashboard.diagnose()
    t.same(stepResults(report), { reachable: 'pass', origin: 'pass', 'logged-in': 'pass', admin: 'pass', polling: 'pass', websocket: 'pass' })
  })

  t.test('a refused page: refused, never reconnecting; the report names no allowed origin', async (t) => {
    const dashboard = await open(t, refused, { auth: { token: 'admin-token' } })
    await dashboard.until((status) => status.state === 'refused', 'refused')
    const report = await dashboard.diagnose()
    t.same(stepResults(report), { reachable: 'pass', origin: 'fail', 'logged-in': 'skip', admin: 'skip', polling: 'skip', websocket: 'skip' })
    t.notOk(JSON.stringify(report).includes(`localhost:${pages.port}`), 'the allowlist is not revealed')
    t.same((await dashboard.states()).map((status) => status.state), ['connecting', 'refused'])
  })

  t.test('logged out: unauthorized', async (t) => {
    const dashboard = await open(t, allowed, {})
    await dashboard.until((status) => status.state === 'unauthorized', 'unauthorized')
    const report = await dashboard.diagnose()
    t.same(stepResults(report), { reachable: 'pass', origin: 'pass', 'logged-in': 'fail', admin: 'skip', polling: 'pass', websocket: 'pass' })
  })
})
