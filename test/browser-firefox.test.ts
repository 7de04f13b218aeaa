import t, { type Test } from 'tap'
import type { Browser } from 'puppeteer-core'
import { clientPage, engineStatusTests, type EvaluatingPage } from './browser/client-page.js'
import { FIREFOX_PATH, firefoxSkipReason, launchFirefox } from './browser/firefox.js'
import { pageOrigins } from './browser/page-server.js'
import { startApp, within } from './helpers/realtime.js'

t.test('the CI rule: a missing Firefox fails on CI and skips loudly elsewhere', async (t) => {
  t.throws(() => firefoxSkipReason('/nonexistent/firefox', { CI: 'true' }), /CI=true but Firefox is missing at \/nonexistent\/firefox/)
  t.match(firefoxSkipReason('/nonexistent/firefox', {}), /^!!! FIREFOX TESTS SKIPPED: .*apt-get install firefox-esr/)
})

const skipReason = firefoxSkipReason(FIREFOX_PATH, process.env)
if (skipReason !== undefined) console.error(skipReason)

t.test('fastify-cors-io/client in Firefox: connected, refused, unauthorized, and their reports', { skip: skipReason ?? false }, async (t) => {
  const { allowed, refused, port } = await pageOrigins(t)
  const browser: Browser = await within(launchFirefox(), 'Firefox to start', 60_000)
  t.teardown(() => browser.close())

  async function open (t: Test, pageOrigin: string, socket: Record<string, unknown>) {
    const { origin } = await startApp(t, { cors: { origins: [allowed] } })
    const context = await browser.createBrowserContext()
    t.teardown(() => context.close())
    const page = await context.newPage()
    await page.goto(`${pageOrigin}/`)
    return await clientPage(page as unknown as EvaluatingPage, origin, socket)
  }

  engineStatusTests(t, open, allowed, refused, port)
})
