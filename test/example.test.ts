import t from 'tap'
import { io, type Socket } from 'socket.io-client'
import { DEFAULT_PORT, readExampleConfig } from '../example/config.js'
import { SESSION_MAX_AGE_SECONDS, SESSION_TTL_LIMIT_SECONDS } from '../example/sessions.js'
import { startExample, type ExampleEnv, type ExampleProcess } from './browser/example-process.js'
import { connectError, connected, waitFor, within, type TestLike } from './helpers/realtime.js'

t.test('config: the default allowlist is the app\'s own origins on its port', async (t) => {
  t.same(readExampleConfig({ COOKIE_SECRET: 's' }), {
    port: DEFAULT_PORT,
    origins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
    refusal: undefined,
    cookieSecret: 's',
    sessionTtlSeconds: SESSION_MAX_AGE_SECONDS
  })
  t.same(readExampleConfig({ PORT: '8080', CORS_ORIGINS: ' ' }).origins, ['http://localhost:8080', 'http://127.0.0.1:8080'])
  t.equal(readExampleConfig({ PORT: '' }).port, DEFAULT_PORT)
})

t.test('config: CORS_ORIGINS is left to the CORS plugin, which reads it itself', async (t) => {
  t.equal(readExampleConfig({ CORS_ORIGINS: 'https://admin.example' }).origins, undefined)
  t.equal(readExampleConfig({ CORS_ORIGINS_FILE: '/etc/origins' }).origins, undefined, 'and CORS_ORIGINS_FILE')
})

t.test('config: CORS_REFUSAL sets the refusal mode, e.g. report-only for a roll-out', async (t) => {
  t.equal(readExampleConfig({ CORS_REFUSAL: 'report-only' }).refusal, 'report-only')
  t.equal(readExampleConfig({ CORS_REFUSAL: '' }).refusal, undefined)
})

t.test('config: a bad PORT stops the start', async (t) => {
  for (const port of ['abc', '0', '70000', '3000.5']) {
    t.throws(() => readExampleConfig({ PORT: port }), /PORT must be an integer from 1 to 65535/, port)
  }
})

t.test('config: SESSION_TTL_SECONDS sets how long a login lasts, within what a timer can wait', async (t) => {
  t.equal(readExampleConfig({ SESSION_TTL_SECONDS: '60' }).sessionTtlSeconds, 60)
  t.equal(readExampleConfig({ SESSION_TTL_SECONDS: '' }).sessionTtlSeconds, SESSION_MAX_AGE_SECONDS)
  for (const ttl of ['0', '-1', '1.5', 'soon', String(SESSION_TTL_LIMIT_SECONDS + 1)]) {
    t.throws(() => readExampleConfig({ SESSION_TTL_SECONDS: ttl }), new RegExp(`SESSION_TTL_SECONDS must be an integer from 1 to ${SESSION_TTL_LIMIT_SECONDS}`), ttl)
  }
})

t.test('config: without COOKIE_SECRET every start signs with a new random secret', async (t) => {
  const first = readExampleConfig({}).cookieSecret
  t.ok(first.length >= 40)
  t.not(readExampleConfig({}).cookieSecret, first)
})

t.test('the app refuses to start on a bad PORT and says why', async (t) => {
  await t.rejects(startExample({ PORT: 'abc' }), /exited with code 1 before listening:[\s\S]*PORT must be an integer/)
})

/** A fresh example process for one test, as `npm start` starts it, stopped in teardown. */
async function exampleApp (t: TestLike, env: ExampleEnv = {}): Promise<ExampleProcess> {
  const app = await startExample(env)
  t.teardown(app.stop)
  return app
}

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

async function login (base: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${base}/api/login`, json({ username, password }))
  if (response.status !== 200) throw new Error(`${username} could not log in: ${response.status}`)
  const [cookie] = response.headers.getSetCookie()
  return cookie!.split(';')[0]!
}

async function metricsAs (base: string, cookie: string) {
  const response = await fetch(`${base}/api/metrics`, { headers: { cookie } })
  if (response.status !== 200) throw new Error(`metrics: ${response.status}`)
  return await response.json()
}

/** A dashboard client of the example, closed in teardown. */
function dashboardClient (t: TestLike, base: string, cookie: string | undefined): Socket {
  const socket = io(`${base}/admin`, { extraHeaders: cookie === undefined ? {} : { cookie }, reconnection: false, forceNew: true })
  t.teardown(() => { socket.close() })
  return socket
}

t.test('without configuration it allows its own two origins and refuses others', async (t) => {
  const { origin: base, port } = await exampleApp(t)
  for (const origin of [`http://localhost:${port}`, `http://127.0.0.1:${port}`]) {
    const response = await fetch(`${base}/api/health`, { headers: { origin } })
    t.equal(response.status, 200, origin)
    t.equal(response.headers.get('access-control-allow-origin'), origin)
    t.equal(response.headers.get('access-control-allow-credentials'), 'true')
    t.same(await response.json(), { status: 'ok' })
  }
  const refused = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { origin: `http://localhost:${port + 1}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'admin' })
  })
  t.equal(refused.status, 403)
  t.equal(refused.headers.get('access-control-allow-origin'), null)
  t.same(refused.headers.getSetCookie(), [], 'a refused login creates no session')
  t.match(await refused.json(), { statusCode: 403, code: 'ORIGIN_REFUSED' })

  // Neither route has an OPTIONS handler; the policy still answers the preflight.
  for (const [origin, status] of [[`http://localhost:${port}`, 204], [`http://localhost:${port + 1}`, 403]] as const) {
    const preflight = await fetch(`${base}/api/login`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
    })
    t.equal(preflight.status, status, `preflight from ${origin}`)
  }

  // This app is this test's alone, so the counts are absolute.
  const metrics = await metricsAs(base, await login(base, 'admin', 'admin'))
  t.equal(metrics.refusedOrigins, 2, 'the refused POST and preflight are counted')
  t.equal(metrics.sessions, 1, 'only the admin\'s login made a session')
})

t.test('with CORS_REFUSAL=report-only a refused origin is served, and the dashboard metrics say so with the reason and fix', async (t) => {
  const { origin: base, port, logs } = await exampleApp(t, { CORS_REFUSAL: 'report-only' })
  t.ok(logs.some((line) => line.includes('REPORT-ONLY')), 'warned at start')
  const stranger = `http://localhost:${port + 1}`
  const served = await fetch(`${base}/api/origin-check`, { method: 'POST', headers: { origin: stranger } })
  t.equal(served.status, 200)
  t.equal(served.headers.get('access-control-allow-origin'), stranger)
  const metrics = await metricsAs(base, await login(base, 'admin', 'admin'))
  t.match(metrics.origins, { reportOnly: true, refused: [{ origin: stranger, reason: 'port-differs', served: true, count: 1, fix: /add it to origins/ }] })
  t.equal(metrics.refusedOrigins, 0, 'served, so not refused')
})

t.test('with CORS_ORIGINS the app logs and enforces that allowlist instead of its default', async (t) => {
  const allowed = 'http://allowed.example'
  const { origin: base, port, logs } = await exampleApp(t, { CORS_ORIGINS: allowed })
  const allowlistLine = logs.map((line) => JSON.parse(line) as { msg?: string, origins?: unknown }).find((line) => line.msg === 'origin allowlist')
  t.same(allowlistLine?.origins, allowed, 'the log names the allowlist in force')
  const granted = await fetch(`${base}/api/health`, { headers: { origin: allowed } })
  t.equal(granted.headers.get('access-control-allow-origin'), allowed)
  const ownOrigin = await fetch(`${base}/api/health`, { headers: { origin: `http://localhost:${port}` } })
  t.equal(ownOrigin.status, 403, 'the default origins are replaced, not added to')
})

t.test('the example app, started as `npm start` starts it', async (t) => {
  const { origin: base } = await exampleApp(t)

  t.test('serves the pages and the Socket.IO browser client', async (t) => {
    const redirect = await fetch(`${base}/`, { redirect: 'manual' })
    t.equal(redirect.headers.get('location'), '/admin')
    for (const [path, type, text] of [
      ['/admin', 'text/html', 'Admin dashboard'],
      ['/login', 'text/html', 'Demo accounts'],
      ['/static/admin.js', 'javascript', 'connectDashboard'],
      ['/static/style.css', 'text/css', '.badge'],
      ['/vendor/socket.io.min.js', 'javascript', 'Socket.IO'],
      // The ES modules of admin.js's imports: the client, its protocol table and socket.io-client's ESM build.
      ['/vendor/fastify-cors-io/client/index.js', 'javascript', 'export function connectDashboard'],
      ['/vendor/fastify-cors-io/lib/protocol.js', 'javascript', 'export const DASHBOARD_EVENTS'],
      ['/vendor/socket.io.esm.min.js', 'javascript', 'export']
    ]) {
      const response = await fetch(`${base}${path}`)
      t.equal(response.status, 200, path)
      t.match(response.headers.get('content-type'), type, path)
      t.match(await response.text(), text, path)
    }
  })

  t.test('JSON login: a signed, HttpOnly, Lax session cookie; logout ends the session', async (t) => {
    const wrong = await fetch(`${base}/api/login`, json({ username: 'admin', password: 'nope' }))
    t.equal(wrong.status, 401)
    t.same(wrong.headers.getSetCookie(), [])

    const response = await fetch(`${base}/api/login`, json({ username: 'user', password: 'user' }))
    t.same(await response.json(), { user: { id: 'u-user', name: 'user', role: 'user' } })
    const [setCookie] = response.headers.getSetCookie()
    t.match(setCookie, /^session=[\w-]+\.[\w+/-]+; Max-Age=28800; Path=\/; HttpOnly; SameSite=Lax$/)
    const cookie = setCookie!.split(';')[0]!

    const me = await fetch(`${base}/api/me`, { headers: { cookie } })
    t.same(await me.json(), { user: { id: 'u-user', name: 'user', role: 'user' } })

    const forged = cookie.replace(/\.[^.]+$/, '.forged')
    t.equal((await fetch(`${base}/api/me`, { headers: { cookie: forged } })).status, 401, 'a bad signature is no login')
    t.equal((await fetch(`${base}/api/me`)).status, 401)

    const logout = await fetch(`${base}/api/logout`, { method: 'POST', headers: { cookie } })
    t.equal(logout.status, 204)
    t.match(logout.headers.getSetCookie()[0], /^session=;/)
    t.equal((await fetch(`${base}/api/me`, { headers: { cookie } })).status, 401, 'the old cookie no longer works')
    t.equal((await fetch(`${base}/api/logout`, { method: 'POST' })).status, 204, 'logging out without a session is no error')
  })

  t.test('form login and logout redirect like a plain HTML form expects', async (t) => {
    async function submit (path: string, fields: Record<string, string>, cookie = '') {
      return await fetch(`${base}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
        body: new URLSearchParams(fields).toString()
      })
    }
    const admin = await submit('/login', { username: 'admin', password: 'admin' })
    t.equal(admin.status, 303)
    t.equal(admin.headers.get('location'), '/admin')
    const cookie = admin.headers.getSetCookie()[0]!.split(';')[0]!
    t.equal((await fetch(`${base}/api/me`, { headers: { cookie } })).status, 200)

    const user = await submit('/login', { username: 'user', password: 'user' })
    t.equal(user.headers.get('location'), '/login?loggedIn=1')
    const wrong = await submit('/login', { username: 'user', password: 'admin' })
    t.equal(wrong.headers.get('location'), '/login?failed=1')
    t.same(wrong.headers.getSetCookie(), [])

    const logout = await submit('/logout', {}, cookie)
    t.equal(logout.status, 303)
    t.equal(logout.headers.get('location'), '/login')
    t.equal((await fetch(`${base}/api/me`, { headers: { cookie } })).status, 401)
  })

  t.test('the admin API is for admins only', async (t) => {
    const user = await login(base, 'user', 'user')
    for (const [method, path] of [['GET', '/api/metrics'], ['POST', '/api/jobs']]) {
      t.equal((await fetch(`${base}${path}`, { method })).status, 401, `${method} ${path} without login`)
      t.equal((await fetch(`${base}${path}`, { method, headers: { cookie: user } })).status, 403, `${method} ${path} as a user`)
    }
    const metrics = await metricsAs(base, await login(base, 'admin', 'admin'))
    t.match(metrics, {
      at: String,
      eventLoopDelayMs: { p50: Number, p99: Number, max: Number },
      memory: { rssBytes: Number, heapUsedBytes: Number },
      sockets: { connected: Number, dashboards: Number },
      sessions: Number,
      refusedOrigins: Number
    })
    t.ok(metrics.memory.rssBytes > 0)
  })

  t.test('the origin check route answers only allowed origins', async (t) => {
    const sameOriginGet = await fetch(`${base}/api/origin-check`, { method: 'POST' })
    t.same(await sameOriginGet.json(), { origin: null, allowed: true }, 'no Origin: not a browser page, served')
    const allowed = await fetch(`${base}/api/origin-check`, { method: 'POST', headers: { origin: base } })
    t.same(await allowed.json(), { origin: base, allowed: true })
    const refused = await fetch(`${base}/api/origin-check`, { method: 'POST', headers: { origin: 'http://localhost:1' } })
    t.match(await refused.json(), { code: 'ORIGIN_REFUSED' })
  })

  t.test('logout disconnects the live sockets of that session, and only those', async (t) => {
    const [ending, staying] = [await login(base, 'admin', 'admin'), await login(base, 'admin', 'admin')]
    const endingSocket = await connected(dashboardClient(t, base, ending))
    const stayingClient = dashboardClient(t, base, staying)
    // `admins` is a retained topic: a new dashboard gets its current value first, which may predate its own
    // connection, and the update after it later (a later poll, after 'connect'). Wait for the list that
    // counts both sockets, so that the list awaited below is the one after the logout.
    const adminsBefore = waitFor<{ admins: Array<{ connections: number }> }>(stayingClient, 'admins',
      { what: 'the admin list after the second connection', until: ({ admins }) => admins[0]?.connections === 2 })
    const stayingSocket = await connected(stayingClient)
    t.match(await adminsBefore, { admins: [{ connections: 2 }] })
    const ended = waitFor(endingSocket, 'session:ended', { what: 'the session:ended event before the disconnect' })
    const disconnected = waitFor<string>(endingSocket, 'disconnect', { what: 'the logged-out session\'s socket to be disconnected' })
    let stayingDisconnected = false
    stayingSocket.on('disconnect', () => { stayingDisconnected = true })
    // The server broadcasts the admin list after each disconnect: the one after the logged-out
    // socket's is the sentinel, on the staying socket's connection, that it was not disconnected too.
    const adminsAfter = waitFor<{ admins: Array<{ connections: number }> }>(stayingSocket, 'admins', { what: 'the admin list after the logout' })

    t.equal((await fetch(`${base}/api/logout`, { method: 'POST', headers: { cookie: ending } })).status, 204)
    t.same(await ended, { reason: 'logged-out' }, 'the page is told why')
    t.equal(await disconnected, 'io server disconnect', 'the server ended the socket')
    t.match(await adminsAfter, { admins: [{ connections: 1 }] })
    t.equal(stayingDisconnected, false, 'the other session of the same user stays connected')
    t.ok(stayingSocket.connected)
    t.equal((await connectError(dashboardClient(t, base, ending))).message, 'unauthorized', 'the old cookie cannot reconnect')
  })
})

t.test('the dashboard namespace: admins get live metrics, presence and job progress', async (t) => {
  const { origin: base } = await exampleApp(t)
  const admin = await login(base, 'admin', 'admin')
  const dashboard = dashboardClient(t, base, admin)
  const adminsSeen = waitFor(dashboard, 'admins', { what: 'the admin list on connect' })
  const metricsSeen = waitFor<{ sockets: { dashboards: number } }>(dashboard, 'metrics', { what: 'a metrics broadcast (every second)' })
  await connected(dashboard)
  t.match(await adminsSeen, { admins: [{ id: 'u-admin', name: 'admin', connections: 1, since: String }] })
  t.equal((await metricsSeen).sockets.dashboards, 1, 'this app\'s only dashboard')

  const progress: Array<{ step: number, state: string }> = []
  dashboard.on('job:progress', (update) => { progress.push(update) })
  const jobDone = new Promise<void>((resolve) => { dashboard.on('job:progress', (update) => { if (update.state === 'done') resolve() }) })
  const started = await fetch(`${base}/api/jobs`, { method: 'POST', headers: { cookie: admin } })
  t.equal(started.status, 202)
  const { job } = await started.json()
  t.match(job, { id: String, startedBy: 'admin', step: 0, steps: 20, state: 'running' })
  await within(jobDone, 'the job to finish (20 steps of 150 ms)', 10_000)
  t.same(progress.map((update) => update.step), Array.from({ length: 21 }, (_, step) => step), 'every step is streamed in order')

  t.equal((await connectError(dashboardClient(t, base, undefined))).message, 'unauthorized')
  t.equal((await connectError(dashboardClient(t, base, await login(base, 'user', 'user')))).message, 'forbidden')

  const bothTabs = waitFor(dashboard, 'admins', { what: 'the admin list with a second tab' })
  const second = await connected(dashboardClient(t, base, admin))
  t.match(await bothTabs, { admins: [{ name: 'admin', connections: 2 }] }, 'two tabs of one admin')
  const afterClose = waitFor(dashboard, 'admins', { what: 'the admin list after a tab closed' })
  second.close()
  t.match(await afterClose, { admins: [{ name: 'admin', connections: 1 }] })
})

t.test('an expired session\'s live sockets are disconnected when it expires', async (t) => {
  const { origin: base } = await exampleApp(t, { SESSION_TTL_SECONDS: '1' })
  const cookie = await login(base, 'admin', 'admin')
  const socket = await connected(dashboardClient(t, base, cookie))
  const ended = waitFor(socket, 'session:ended', { what: 'the session to expire (1 s TTL)' })
  const disconnected = waitFor<string>(socket, 'disconnect', { what: 'the expired session\'s socket to be disconnected' })
  t.same(await ended, { reason: 'expired' }, 'the page is told why')
  t.equal(await disconnected, 'io server disconnect')
  t.equal((await fetch(`${base}/api/me`, { headers: { cookie } })).status, 401, 'the cookie no longer logs in')
})

t.test('SIGTERM stops the app within fastify-cli\'s grace delay, even mid-job with a dashboard open', async (t) => {
  const app = await startExample()
  t.teardown(app.stop)
  const cookie = await login(app.origin, 'admin', 'admin')
  const dashboard = await connected(dashboardClient(t, app.origin, cookie))
  const firstStep = waitFor(dashboard, 'job:progress', { what: 'the first job step' })
  t.equal((await fetch(`${app.origin}/api/jobs`, { method: 'POST', headers: { cookie } })).status, 202)
  await firstStep
  const disconnected = waitFor<string>(dashboard, 'disconnect', { what: 'the dashboard to be told the server is going away', timeoutMs: 15_000 })
  t.equal(await app.stop(), 0, 'exit code 0: closed before the grace delay ran out')
  t.equal(await disconnected, 'io server disconnect', 'the server told the dashboard it was going away')
})
