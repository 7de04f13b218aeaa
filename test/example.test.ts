import t from 'tap'
import { io, type Socket } from 'socket.io-client'
import { DEFAULT_PORT, readExampleConfig } from '../example/config.js'
import { freePort, startExample } from './browser/example-process.js'

t.test('config: the default allowlist is the app\'s own origins on its port', async (t) => {
  t.same(readExampleConfig({ COOKIE_SECRET: 's' }), {
    port: DEFAULT_PORT,
    origins: ['http://localhost:3000', 'http://127.0.0.1:3000'],
    cookieSecret: 's'
  })
  t.same(readExampleConfig({ PORT: '8080', CORS_ORIGINS: ' ' }).origins, ['http://localhost:8080', 'http://127.0.0.1:8080'])
  t.equal(readExampleConfig({ PORT: '' }).port, DEFAULT_PORT)
})

t.test('config: CORS_ORIGINS is left to the CORS plugin, which reads it itself', async (t) => {
  t.equal(readExampleConfig({ CORS_ORIGINS: 'https://admin.example' }).origins, undefined)
})

t.test('config: a bad PORT stops the start', async (t) => {
  for (const port of ['abc', '0', '70000', '3000.5']) {
    t.throws(() => readExampleConfig({ PORT: port }), /PORT must be an integer from 1 to 65535/, port)
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

t.test('the example app, started as `npm start` starts it', async (t) => {
  const port = await freePort()
  const app = await startExample({ PORT: String(port), COOKIE_SECRET: 'test-secret-that-is-long-enough' })
  t.teardown(app.stop)
  const base = app.origin

  async function login (username: string, password: string): Promise<string> {
    const response = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password })
    })
    t.equal(response.status, 200, `${username} logs in`)
    const [cookie] = response.headers.getSetCookie()
    return cookie.split(';')[0]
  }

  async function metricsAs (cookie: string) {
    const response = await fetch(`${base}/api/metrics`, { headers: { cookie } })
    t.equal(response.status, 200)
    return await response.json()
  }

  t.test('without configuration it allows its own two origins and refuses others', async (t) => {
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

    const admin = await login('admin', 'admin')
    const metrics = await metricsAs(admin)
    t.equal(metrics.refusedOrigins, 2, 'the refused POST and preflight are counted')
    t.equal(metrics.sessions, 1, 'only the admin\'s login made a session')
  })

  t.test('serves the pages and the Socket.IO browser client', async (t) => {
    const redirect = await fetch(`${base}/`, { redirect: 'manual' })
    t.equal(redirect.headers.get('location'), '/admin')
    for (const [path, type, text] of [
      ['/admin', 'text/html', 'Admin dashboard'],
      ['/login', 'text/html', 'Demo accounts'],
      ['/static/admin.js', 'javascript', 'connect_error'],
      ['/static/style.css', 'text/css', '.badge'],
      ['/vendor/socket.io.min.js', 'javascript', 'Socket.IO']
    ]) {
      const response = await fetch(`${base}${path}`)
      t.equal(response.status, 200, path)
      t.match(response.headers.get('content-type'), type, path)
      t.match(await response.text(), text, path)
    }
  })

  t.test('JSON login: a signed, HttpOnly, Lax session cookie; logout ends the session', async (t) => {
    const wrong = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'nope' })
    })
    t.equal(wrong.status, 401)
    t.same(wrong.headers.getSetCookie(), [])

    const response = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'user', password: 'user' })
    })
    t.same(await response.json(), { user: { id: 'u-user', name: 'user', role: 'user' } })
    const [setCookie] = response.headers.getSetCookie()
    t.match(setCookie, /^session=[\w-]+\.[\w+/-]+; Max-Age=28800; Path=\/; HttpOnly; SameSite=Lax$/)
    const cookie = setCookie.split(';')[0]

    const me = await fetch(`${base}/api/me`, { headers: { cookie } })
    t.same(await me.json(), { user: { id: 'u-user', name: 'user', role: 'user' } })

    const forged = cookie.replace(/\.[^.]+$/, '.forged')
    t.equal((await fetch(`${base}/api/me`, { headers: { cookie: forged } })).status, 401, 'a bad signature is no login')
    t.equal((await fetch(`${base}/api/me`)).status, 401)

    const logout = await fetch(`${base}/api/logout`, { method: 'POST', headers: { cookie } })
    t.equal(logout.status, 204)
    t.match(logout.headers.getSetCookie()[0], /^session=;/)
    t.equal((await fetch(`${base}/api/me`, { headers: { cookie } })).status, 401, 'the old cookie no longer works')
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
    const cookie = admin.headers.getSetCookie()[0].split(';')[0]
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
    const user = await login('user', 'user')
    for (const [method, path] of [['GET', '/api/metrics'], ['POST', '/api/jobs']]) {
      t.equal((await fetch(`${base}${path}`, { method })).status, 401, `${method} ${path} without login`)
      t.equal((await fetch(`${base}${path}`, { method, headers: { cookie: user } })).status, 403, `${method} ${path} as a user`)
    }
    const metrics = await metricsAs(await login('admin', 'admin'))
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

  t.test('the dashboard namespace: admins get live metrics, presence and job progress', async (t) => {
    const admin = await login('admin', 'admin')
    const connect = (cookie: string | undefined): Socket => io(`${base}/admin`, {
      extraHeaders: cookie === undefined ? {} : { cookie },
      reconnection: false
    })

    const dashboard = connect(admin)
    t.teardown(() => { dashboard.close() })
    const adminsSeen = new Promise<unknown>((resolve) => dashboard.once('admins', resolve))
    const metricsSeen = new Promise<{ sockets: { dashboards: number } }>((resolve) => dashboard.once('metrics', resolve))
    await new Promise((resolve) => dashboard.once('connect', () => resolve(undefined)))
    t.match(await adminsSeen, { admins: [{ id: 'u-admin', name: 'admin', connections: 1, since: String }] })
    t.equal((await metricsSeen).sockets.dashboards, 1, 'a metrics broadcast arrives within a second')

    const progress: Array<{ step: number, state: string }> = []
    const jobDone = new Promise<void>((resolve) => dashboard.on('job:progress', (update) => {
      progress.push(update)
      if (update.state === 'done') resolve()
    }))
    const started = await fetch(`${base}/api/jobs`, { method: 'POST', headers: { cookie: admin } })
    t.equal(started.status, 202)
    const { job } = await started.json()
    t.match(job, { id: String, startedBy: 'admin', step: 0, steps: 20, state: 'running' })
    await jobDone
    t.same(progress.map((update) => update.step), Array.from({ length: 21 }, (_, step) => step), 'every step is streamed in order')

    async function connectError (cookie: string | undefined): Promise<string> {
      const socket = connect(cookie)
      const error = await new Promise<Error>((resolve) => socket.once('connect_error', resolve))
      socket.close()
      return error.message
    }
    t.equal(await connectError(undefined), 'unauthorized')
    t.equal(await connectError(await login('user', 'user')), 'forbidden')

    const bothTabs = new Promise<unknown>((resolve) => dashboard.once('admins', resolve))
    const second = connect(admin)
    await new Promise((resolve) => second.once('connect', () => resolve(undefined)))
    t.match(await bothTabs, { admins: [{ name: 'admin', connections: 2 }] }, 'two tabs of one admin')
    const afterClose = new Promise<unknown>((resolve) => dashboard.once('admins', resolve))
    second.close()
    t.match(await afterClose, { admins: [{ name: 'admin', connections: 1 }] })
  })
})

t.test('SIGTERM stops the app within fastify-cli\'s grace delay, even mid-job with a dashboard open', async (t) => {
  const port = await freePort()
  const app = await startExample({ PORT: String(port) })
  const login = await fetch(`${app.origin}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'admin' })
  })
  const cookie = login.headers.getSetCookie()[0].split(';')[0]
  const dashboard = io(`${app.origin}/admin`, { extraHeaders: { cookie }, reconnection: false })
  t.teardown(() => { dashboard.close() })
  await new Promise((resolve) => dashboard.once('connect', () => resolve(undefined)))
  const firstStep = new Promise((resolve) => dashboard.once('job:progress', resolve))
  t.equal((await fetch(`${app.origin}/api/jobs`, { method: 'POST', headers: { cookie } })).status, 202)
  await firstStep
  const disconnected = new Promise<string>((resolve) => dashboard.once('disconnect', resolve))
  t.equal(await app.stop(), 0, 'exit code 0: closed before the grace delay ran out')
  t.equal(await disconnected, 'io server disconnect', 'the server told the dashboard it was going away')
})
