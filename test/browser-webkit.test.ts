import t, { type Test } from 'tap'
import { clientPage, engineStatusTests } from './browser/client-page.js'
import { pageOrigins } from './browser/page-server.js'
import { evaluatingPage, launchWebKit, MINIBROWSER_PATH, WEBKIT_DRIVER_PATH, webkitSkipReason, XVFB_PATH } from './browser/webkit.js'
import { startApp, within } from './helpers/realtime.js'

t.test('the CI rule: a missing WebKit fails on CI and skips loudly elsewhere', async (t) => {
  t.throws(() => webkitSkipReason(['/nonexistent/WebKitWebDriver'], { CI: 'true' }), /CI=true but WebKit is missing \(\/nonexistent\/WebKitWebDriver\)/)
  t.match(webkitSkipReason(['/nonexistent/Xvfb'], {}), /^!!! WEBKIT TESTS SKIPPED: .*apt-get install webkit2gtk-driver xvfb/)
})

const skipReason = webkitSkipReason([WEBKIT_DRIVER_PATH, MINIBROWSER_PATH, XVFB_PATH], process.env)
if (skipReason !== undefined) console.error(skipReason)

t.test('fastify-cors-io/client in WebKit: connected, refused, unauthorized, and their reports', { skip: skipReason ?? false }, async (t) => {
  const { allowed, refused, port } = await pageOrigins(t)
  // One session for the file; each test loads a fresh page (a navigation drops the previous page's sockets).
  const webkit = await within(launchWebKit(), 'WebKit to start', 60_000)
  t.teardown(webkit.close)
  const page = evaluatingPage(webkit.driver)

  async function open (t: Test, pageOrigin: string, socket: Record<string, unknown>) {
    const { origin } = await startApp(t, { cors: { origins: [allowed] } })
    await webkit.driver.get(`${pageOrigin}/`)
    return await clientPage(page, origin, socket)
  }

  engineStatusTests(t, open, allowed, refused, port)
})
