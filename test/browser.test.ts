import { mkdir, readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import t from 'tap'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { CHROMIUM_PATH, chromiumSkipReason, launchChromium } from './browser/chromium.js'
import { startExample, type ExampleProcess } from './browser/example-process.js'
import { startPageServer } from './browser/page-server.js'
import { within, type TestLike } from './helpers/realtime.js'

// `DASHBOARD_SCREENSHOT=docs/dashboard.png` refreshes the README's picture;
// otherwise the screenshot goes to this test's scratch folder.
const screenshotTarget = process.env.DASHBOARD_SCREENSHOT

t.test('the CI rule: a missing Chromium fails on CI and skips loudly elsewhere', async (t) => {
  const missing = '/nonexistent/chromium'
  t.throws(() => chromiumSkipReason(missing, { CI: 'true' }), /CI=true but Chromium is missing at \/nonexistent\/chromium/)
  t.match(chromiumSkipReason(missing, {}), /BROWSER TESTS SKIPPED: Chromium is missing at \/nonexistent\/chromium/)
})

const skipReason = chromiumSkipReason(CHROMIUM_PATH, process.env)
if (skipReason !== undefined) console.error(skipReason)

t.test('in a real browser, across origins', { skip: skipReason ?? false }, async (t) => {
  // The page servers only serve a static page and the browser holds nothing between contexts:
  // shared. Each test gets its own app and browser context, so it sets up every count and cookie it asserts.
  const allowedPages = await startPageServer()
  const refusedPages = await startPageServer()
  t.teardown(allowedPages.close)
  t.teardown(refusedPages.close)

  // Page origins are on the app's site (localhost), where its SameSite=Lax cookies flow, except
  // 127.0.0.1, which is another site: from there Chromium sends none of the app's cookies, whatever
  // their SameSite (third-party cookies are blocked), so credentialed checks need a same-site page.
  const allowedOrigin = `http://localhost:${allowedPages.port}`
  const refusedSameSite = `http://localhost:${refusedPages.port}`
  const refusedCrossSite = `http://127.0.0.1:${refusedPages.port}`

  const browser: Browser = await launchChromium()
  t.teardown(() => browser.close())

  /** A fresh example app that allows its own origin and the allowed page's. */
  async function freshApp (t: TestLike): Promise<ExampleProcess> {
    const app = await startExample((port) => ({ CORS_ORIGINS: `http://localhost:${port},${allowedOrigin}` }))
    t.teardown(app.stop)
    return app
  }

  async function freshContext (t: TestLike, options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
    const context = await browser.newContext(options)
    // Playwright's other waits (goto, click, fill) default to 30 s; fail sooner.
    context.setDefaultTimeout(10_000)
    t.teardown(() => within(context.close(), 'the browser context to close', 15_000))
    return context
  }

  async function adminCookie (appOrigin: string): Promise<string> {
    const response = await fetch(`${appOrigin}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'admin' })
    })
    return response.headers.getSetCookie()[0]!.split(';')[0]!
  }
  async function serverMetrics (appOrigin: string, cookie: string) {
    const response = await fetch(`${appOrigin}/api/metrics`, { headers: { cookie } })
    return await response.json() as { sessions: number, refusedOrigins: number, sockets: { connected: number } }
  }

  /** Waits, bounded by `within` so a timeout names what the page did not show, until `predicate` holds in the page. */
  async function shows (page: Page, what: string, predicate: () => boolean): Promise<void> {
    await within(page.waitForFunction(predicate, undefined, { timeout: 0 }), `the page to show ${what}`, 10_000)
  }

  async function openPage (context: BrowserContext, url: string): Promise<Page> {
    const page = await context.newPage()
    await page.goto(url)
    return page
  }

  t.test('an allowed page logs in, reads the API and gets dashboard broadcasts over WebSocket', async (t) => {
    const { origin: appOrigin } = await freshApp(t)
    const context = await freshContext(t)
    const page = await openPage(context, `${allowedOrigin}/`)
    const result = await within(page.evaluate(async (appOrigin) => {
      const login = await fetch(`${appOrigin}/api/login`, {
        method: 'POST',
        credentials: 'include',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'admin' })
      })
      const me = await fetch(`${appOrigin}/api/me`, { credentials: 'include' })
      const socket = window.io(`${appOrigin}/admin`, { withCredentials: true })
      const upgradedTo = new Promise<string>((resolve) => {
        socket.io.on('open', () => socket.io.engine.once('upgrade', (transport) => resolve(transport.name)))
      })
      const firstMetrics = new Promise<unknown>((resolve) => socket.once('metrics', resolve))
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve)
        socket.once('connect_error', reject)
      })
      const transport = await upgradedTo
      const jobProgress = new Promise<unknown>((resolve) => socket.once('job:progress', resolve))
      const job = await fetch(`${appOrigin}/api/jobs`, { method: 'POST', credentials: 'include' })
      const result = {
        login: { status: login.status, body: await login.json() },
        me: { status: me.status, body: await me.json() },
        transport,
        metrics: await firstMetrics,
        jobStatus: job.status,
        jobProgress: await jobProgress
      }
      socket.close()
      return result
    }, appOrigin), 'the allowed page to log in, connect, upgrade and get a metrics and a job:progress broadcast', 15_000)

    t.equal(result.login.status, 200)
    t.equal(result.login.body.user.role, 'admin')
    t.equal(result.me.status, 200, 'the session cookie is sent cross-origin and the response is readable')
    t.equal(result.me.body.user.name, 'admin')
    t.equal(result.transport, 'websocket', 'the connection upgraded to WebSocket')
    t.match(result.metrics, { sockets: { connected: Number }, memory: { rssBytes: Number } }, 'a metrics broadcast arrived')
    t.equal(result.jobStatus, 202)
    t.match(result.jobProgress, { startedBy: 'admin', steps: 20, state: 'running' }, 'a job:progress broadcast arrived')
    t.ok((await context.cookies(appOrigin)).some((cookie) => cookie.name === 'session'), 'the browser holds the session cookie')
  })

  for (const [label, refusedOrigin, withAdminCookie] of [
    ['a same-site page (the admin\'s cookies are sent)', refusedSameSite, true],
    ['a cross-site page', refusedCrossSite, false]
  ] as const) {
    t.test(`${label} from a refused origin can neither read the API nor connect`, async (t) => {
      const { origin: appOrigin } = await freshApp(t)
      const context = await freshContext(t)
      if (withAdminCookie) {
        // The admin is logged in in this browser, so only the origin check can stop the refused page.
        t.equal((await context.request.post(`${appOrigin}/api/login`, { data: { username: 'admin', password: 'admin' } })).status(), 200)
        t.ok((await context.cookies(appOrigin)).some((cookie) => cookie.name === 'session'), 'the browser holds the admin\'s session cookie')
      }
      const nodeAdmin = await adminCookie(appOrigin)
      const cookiesBefore = await context.cookies()
      const page = await openPage(context, `${refusedOrigin}/`)
      const result = await within(page.evaluate(async (appOrigin) => {
        async function fetchFails (path: string, init: RequestInit): Promise<string> {
          try {
            const response = await fetch(`${appOrigin}${path}`, { credentials: 'include', ...init })
            return `read status ${response.status}`
          } catch (error) {
            return (error as Error).name
          }
        }
        async function connectError (transports: string[]): Promise<string> {
          const socket = window.io(`${appOrigin}/admin`, { withCredentials: true, transports, reconnection: false })
          return await new Promise<string>((resolve) => {
            socket.once('connect', () => resolve('connected'))
            socket.once('connect_error', (error) => resolve(error.message))
          }).finally(() => socket.close())
        }
        return {
          me: await fetchFails('/api/me', {}),
          // JSON is preflighted; text/plain is a "simple" request the browser sends without asking.
          jsonLogin: await fetchFails('/api/login', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ username: 'admin', password: 'admin' })
          }),
          formLogin: await fetchFails('/login', {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: 'username=admin&password=admin'
          }),
          polling: await connectError(['polling']),
          websocket: await connectError(['websocket'])
        }
      }, appOrigin), 'the refused page\'s three requests and two connection attempts to fail', 15_000)

      t.same(result, {
        me: 'TypeError',
        jsonLogin: 'TypeError',
        formLogin: 'TypeError',
        polling: 'xhr poll error',
        websocket: 'websocket error'
      })
      // This app is this test's alone: absolute counts.
      const metrics = await serverMetrics(appOrigin, nodeAdmin)
      t.equal(metrics.sessions, withAdminCookie ? 2 : 1, 'no session but the admin logins of this test')
      t.equal(metrics.sockets.connected, 0, 'the server holds no Socket.IO connection')
      t.equal(metrics.refusedOrigins, 5, 'the server counted the three API requests, the polling handshake and the upgrade')
      t.same(await context.cookies(), cookiesBefore, 'the browser got no new cookie')
    })
  }

  t.test('/admin explains a missing login, then shows live data once an admin logs in', async (t) => {
    const { origin: appOrigin } = await freshApp(t)
    const context = await freshContext(t, { viewport: { width: 1280, height: 440 } })
    const page = await openPage(context, `${appOrigin}/admin`)
    const badge = page.locator('#status')
    await shows(page, 'the unauthorized state', () => document.getElementById('status')?.dataset.state === 'unauthorized')
    t.equal(await badge.textContent(), 'unauthorized')
    t.match(await page.locator('#notice').textContent(), /You are not logged in/)
    t.ok(await page.locator('#retry').isVisible(), 'Retry is offered')

    await page.goto(`${appOrigin}/login`)
    await page.fill('input[name=username]', 'admin')
    await page.fill('input[name=password]', 'admin')
    await Promise.all([page.waitForURL(`${appOrigin}/admin`), page.click('button[type=submit]')])
    await shows(page, 'a WebSocket connection', () => document.getElementById('status')?.textContent === 'connected (websocket)')
    // The retained metrics sample arrives at once and may predate this dashboard; the next one counts it.
    await shows(page, 'metrics counting this dashboard', () => document.getElementById('metric-dashboards')?.textContent === '1')
    t.match(await page.locator('#admins').textContent(), /admin · 1 tab/)
    // Filled by the page's own /api/me fetch, independently of the socket.
    await shows(page, 'who is logged in', () => document.getElementById('who')?.textContent?.startsWith('Logged in') === true)
    t.match(await page.locator('#who').textContent(), 'Logged in as admin (admin)')
    t.notOk(await page.locator('#retry').isVisible())

    await page.click('#start-job')
    await shows(page, 'the job at step 8', () => {
      const bar = document.querySelector<HTMLProgressElement>('#jobs progress')
      return bar !== null && bar.value >= 8
    })
    const screenshotPath = screenshotTarget === undefined ? resolve(t.testdirName, 'dashboard.png') : resolve(screenshotTarget)
    await mkdir(dirname(screenshotPath), { recursive: true })
    await page.screenshot({ path: screenshotPath })
    const png = await readFile(screenshotPath)
    t.equal(png.subarray(1, 4).toString(), 'PNG')
    t.comment(`dashboard screenshot: ${screenshotPath}`)

    // The newest job is listed first.
    await shows(page, 'the job done', () => document.querySelector<HTMLElement>('#jobs li')?.dataset.state === 'done')
    t.equal(await page.locator('#jobs li').first().textContent(), 'Job by admin: done')

    // A logout of this session elsewhere (another tab, here a fetch) ends the live dashboard too.
    t.equal(await page.evaluate(async () => (await fetch('/api/logout', { method: 'POST' })).status), 204)
    await shows(page, 'the session ended', () => document.getElementById('status')?.dataset.state === 'session-ended')
    t.equal(await badge.textContent(), 'logged out')
    t.match(await page.locator('#notice').textContent(), /This session was logged out, so the server disconnected the dashboard/)
  })

  t.test('/admin opened from a refused origin says so instead of retrying forever', async (t) => {
    const { port: appPort } = await freshApp(t)
    const context = await freshContext(t)
    // The app's own address under another name: 127.0.0.1 is not in this run's allowlist.
    const page = await openPage(context, `http://127.0.0.1:${appPort}/admin`)
    await shows(page, 'the refused state', () => document.getElementById('status')?.dataset.state === 'refused')
    t.equal(await page.locator('#status').textContent(), 'refused by the origin policy')
    t.match(await page.locator('#notice').textContent(), `The server does not allow this page's origin, http://127.0.0.1:${appPort}.`)
  })

  t.test('/admin tells a plain user that the dashboard is for admins', async (t) => {
    const { origin: appOrigin } = await freshApp(t)
    const context = await freshContext(t)
    const page = await openPage(context, `${appOrigin}/login`)
    await page.fill('input[name=username]', 'user')
    await page.fill('input[name=password]', 'user')
    await page.click('button[type=submit]')
    // The page writes the message when its fetch answers; wait for it rather than race it.
    await shows(page, 'the login message', () => document.getElementById('login-message')?.textContent !== '')
    t.match(await page.locator('#login-message').textContent(), 'a plain user')
    await page.goto(`${appOrigin}/admin`)
    await shows(page, 'the forbidden state', () => document.getElementById('status')?.dataset.state === 'forbidden')
    t.match(await page.locator('#notice').textContent(), 'not an admin')
  })
})
