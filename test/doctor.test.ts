import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import fastifyCors from '@fastify/cors'
import Fastify from 'fastify'
import { Server as SocketIoServer, type ServerOptions } from 'socket.io'
import t, { type Test } from 'tap'
import { doctor, type DoctorOptions, type DoctorReport } from '../lib/doctor.js'
import { runCli, runCliJson } from './helpers/cli.js'
import { startExample } from './browser/example-process.js'
import { ALLOWED, EVIL, startApp, type TestLike } from './helpers/realtime.js'

type Row = [step: string, result: 'pass' | 'fail' | 'skipped', failure?: string]

/** Each step of a report as [step, pass/fail/skipped, failure]: what the tables below assert. */
function rows (report: DoctorReport): Row[] {
  return report.steps.map((step) => {
    const result = step.skipped !== undefined && step.verdict.pass ? 'skipped' : step.verdict.pass ? 'pass' : 'fail'
    return step.verdict.failure === undefined ? [step.step, result] : [step.step, result, step.verdict.failure]
  })
}

/** The CLI arguments for the same probe as `options`. */
function cliArgs (options: DoctorOptions): string[] {
  return ['doctor', options.url, '--origin', options.origin,
    ...(options.cookie === undefined ? [] : ['--cookie', options.cookie]),
    ...(options.method === undefined ? [] : ['--method', options.method]),
    ...(options.headers === undefined ? [] : ['--headers', options.headers.join(',')]),
    ...(options.socketPath === undefined ? [] : ['--socket-path', options.socketPath]),
    ...(options.socket === false ? ['--no-socket'] : [])]
}

/**
 * Probes with the spawned CLI (`--json`, as a script would) and in-process (the same lib function, so
 * coverage sees it), and checks that both give `expected`. Returns the CLI's report.
 */
async function probe (t: Test, options: DoctorOptions, expected: Row[], what: string): Promise<DoctorReport> {
  const { code, json } = await runCliJson<DoctorReport>(cliArgs(options))
  t.same(rows(json), expected, `${what}: the CLI's steps`)
  t.equal(code, expected.every(([, result]) => result !== 'fail') ? 0 : 1, `${what}: the CLI's exit code`)
  t.same(rows(await doctor(options)), expected, `${what}: the library's steps`)
  return json
}

const ALL_PASS: Row[] = [['preflight', 'skipped'], ['request', 'pass'], ['polling-handshake', 'pass'], ['polling-send', 'pass'], ['polling-receive', 'pass'], ['websocket', 'pass']]

async function listen (t: TestLike, server: HttpServer): Promise<string> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve() }) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** This library: corsPolicy + realtime, a route that reads the session cookie. */
async function libraryApp (t: TestLike, credentials = true): Promise<string> {
  const { origin } = await startApp(t, {
    cors: { credentials, methods: ['GET', 'POST', 'PUT'], allowedHeaders: ['Content-Type', 'X-Request-Id'] },
    after: (app) => { app.route({ method: ['GET', 'PUT', 'DELETE'], url: '/api/me', handler: async () => ({ ok: true }) }) }
  })
  return origin
}

/** A bare @fastify/cors app, as many hosts run it. */
async function fastifyCorsApp (t: TestLike, credentials: boolean): Promise<string> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyCors, { origin: [ALLOWED], credentials, methods: ['GET', 'POST'] })
  // Two cookies: Node keeps set-cookie as an array, which the report shows joined.
  app.get('/api/me', async (_request, reply) => reply.header('set-cookie', ['a=1', 'b=2']).send({ ok: true }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

/** Plain socket.io with its `cors` option on a bare node:http server, whose own route sets no CORS header. */
async function plainSocketIo (t: TestLike, options: Partial<ServerOptions>): Promise<string> {
  const server = createServer((_request: IncomingMessage, response: ServerResponse) => { response.writeHead(404).end() })
  const io = new SocketIoServer(server, options)
  t.teardown(() => io.close())
  return await listen(t, server)
}

t.test('doctor against this library (corsPolicy + realtime)', async (t) => {
  const base = await libraryApp(t)
  const url = `${base}/api/me`
  await probe(t, { url, origin: ALLOWED, cookie: 'session=user-token' }, ALL_PASS, 'allowed, credentialed')
  await probe(t, { url, origin: EVIL, cookie: 'session=user-token' }, [
    ['preflight', 'skipped'], ['request', 'fail', 'missing-allow-origin'], ['polling-handshake', 'fail', 'missing-allow-origin'],
    ['polling-send', 'fail'], ['polling-receive', 'fail'], ['websocket', 'fail', 'websocket-refused']
  ], 'refused: HTTP and WebSocket alike')
  await probe(t, { url, origin: ALLOWED, method: 'DELETE', socket: false }, [['preflight', 'fail', 'method-not-allowed'], ['request', 'fail']], 'wrong method')
  await probe(t, { url, origin: ALLOWED, method: 'PUT', headers: ['Content-Type', 'X-Request-Id'], socket: false }, [['preflight', 'pass'], ['request', 'pass']], 'a granted preflight')
  await probe(t, { url, origin: ALLOWED, headers: ['X-Other'], socket: false }, [['preflight', 'fail', 'header-not-allowed'], ['request', 'fail']], 'a header the preflight does not grant')
})

t.test('doctor against the example app, started as `npm start` starts it', async (t) => {
  const example = await startExample()
  t.teardown(async () => { await example.stop() })
  const url = `${example.origin}/api/me`
  // The example's default allowlist is its own two origins.
  await probe(t, { url, origin: `http://127.0.0.1:${example.port}` }, ALL_PASS, 'its own other origin')
  await probe(t, { url, origin: EVIL }, [
    ['preflight', 'skipped'], ['request', 'fail', 'missing-allow-origin'], ['polling-handshake', 'fail', 'missing-allow-origin'],
    ['polling-send', 'fail'], ['polling-receive', 'fail'], ['websocket', 'fail', 'websocket-refused']
  ], 'a foreign origin: HTTP and WebSocket alike')
})

t.test('doctor against this library without credentials, for a page that sends cookies', async (t) => {
  const base = await libraryApp(t, false)
  await probe(t, { url: `${base}/api/me`, origin: ALLOWED, cookie: 'session=user-token' }, [
    ['preflight', 'skipped'], ['request', 'fail', 'credentials-not-true'], ['polling-handshake', 'fail', 'credentials-not-true'],
    ['polling-send', 'fail'], ['polling-receive', 'fail'], ['websocket', 'pass']
  ], 'missing credentials')
})

t.test('doctor against a bare @fastify/cors app', async (t) => {
  const withCredentials = `${await fastifyCorsApp(t, true)}/api/me`
  const allowed = await probe(t, { url: withCredentials, origin: ALLOWED, cookie: 'a=1', socket: false }, [['preflight', 'skipped'], ['request', 'pass']], 'allowed')
  t.equal(allowed.steps[1]?.received?.headers['set-cookie'], 'a=1, b=2')
  await probe(t, { url: withCredentials, origin: EVIL, socket: false }, [['preflight', 'skipped'], ['request', 'fail', 'missing-allow-origin']], 'refused')
  await probe(t, { url: withCredentials, origin: ALLOWED, method: 'PUT', socket: false }, [['preflight', 'fail', 'method-not-allowed'], ['request', 'fail']], 'wrong method')
  const withoutCredentials = `${await fastifyCorsApp(t, false)}/api/me`
  await probe(t, { url: withoutCredentials, origin: ALLOWED, cookie: 'a=1', socket: false }, [['preflight', 'skipped'], ['request', 'fail', 'credentials-not-true']], 'missing credentials')
  await probe(t, { url: withoutCredentials, origin: ALLOWED }, [
    ['preflight', 'skipped'], ['request', 'pass'], ['polling-handshake', 'fail', 'handshake-failed'], ['polling-send', 'fail'], ['polling-receive', 'fail'], ['websocket', 'fail', 'websocket-refused']
  ], 'no Socket.IO there')
})

t.test('doctor against plain socket.io with cors', async (t) => {
  const open = await plainSocketIo(t, { cors: { origin: ALLOWED, credentials: true } })
  const httpRefused: Row = ['request', 'fail', 'missing-allow-origin']
  await probe(t, { url: `${open}/`, origin: ALLOWED, cookie: 'a=1' }, [['preflight', 'skipped'], httpRefused, ...ALL_PASS.slice(2, 5), ['websocket', 'fail', 'websocket-accepts-refused-origin']],
    'allowed on polling; the app\'s own route has no CORS, and the upgrade is accepted anyway')
  await probe(t, { url: `${open}/`, origin: EVIL }, [
    ['preflight', 'skipped'], httpRefused, ['polling-handshake', 'fail', 'allow-origin-mismatch'], ['polling-send', 'fail'], ['polling-receive', 'fail'],
    ['websocket', 'fail', 'websocket-accepts-refused-origin']
  ], 'refused on polling (socket.io sends its one allowed origin to every caller), accepted on WebSocket: socket.io\'s cors option does not cover upgrades')
  const noCredentials = await plainSocketIo(t, { cors: { origin: ALLOWED } })
  await probe(t, { url: `${noCredentials}/`, origin: ALLOWED, cookie: 'a=1' }, [
    ['preflight', 'skipped'], httpRefused, ['polling-handshake', 'fail', 'credentials-not-true'], ['polling-send', 'fail'], ['polling-receive', 'fail'], ['websocket', 'fail', 'websocket-accepts-refused-origin']
  ], 'missing credentials')
  const checked = await plainSocketIo(t, { path: '/rt/', cors: { origin: ALLOWED }, allowRequest: (request, callback) => { callback(null, request.headers.origin === ALLOWED) } })
  await probe(t, { url: `${checked}/`, origin: EVIL, socketPath: '/rt/' }, [
    ['preflight', 'skipped'], httpRefused, ['polling-handshake', 'fail', 'allow-origin-mismatch'], ['polling-send', 'fail'], ['polling-receive', 'fail'], ['websocket', 'fail', 'websocket-refused']
  ], 'refused by allowRequest, on polling and WebSocket')
})

t.test('doctor prints each step: the table, what was sent and received, the three browsers\' messages and the fix', async (t) => {
  const base = await libraryApp(t)
  const url = `${base}/api/me`
  const { code, stdout } = await runCli(['doctor', url, '--origin', EVIL, '--no-socket'])
  t.equal(code, 1)
  t.match(stdout, `doctor ${url} as a page on ${EVIL}\n  STEP       RESULT  STATUS  REQUEST${' '.repeat('OPTIONS '.length + url.length - 'REQUEST'.length)}  DETAIL\n  preflight  skip    -       OPTIONS ${url}  not needed: GET with these headers is a simple request`)
  t.match(stdout, `\n  request    FAIL    403     GET ${url}      missing-allow-origin\n`)
  t.match(stdout, `✖ request: GET ${url}\n    sent      origin: ${EVIL}; user-agent: fastify-cors-io doctor\n    received  403; vary: Origin\n    failure   missing-allow-origin\n`)
  t.match(stdout, `    Chrome    Access to fetch at '${url}' from origin '${EVIL}' has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource.`)
  t.match(stdout, `    Firefox   Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at ${url}. (Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status code: 403.`)
  t.match(stdout, `    Safari    Origin ${EVIL} is not allowed by Access-Control-Allow-Origin. Status code: 403 Fetch API cannot load ${url} due to access control checks.`)
  t.match(stdout, /\n {4}fix {7}the server refused this origin/)
  t.match(stdout, /\nSome steps fail \(see above\)\.\n$/)
})

t.test('doctor prints passing steps, notes, steps not run and responses without CORS headers', async (t) => {
  const base = await libraryApp(t)
  const ok = await runCli(['doctor', `${base}/api/me`, '--origin', ALLOWED, '--cookie', 'session=unsigned'])
  t.equal(ok.code, 0)
  t.match(ok.stdout, `doctor ${base}/api/me as a page on ${ALLOWED}, with credentials\n`)
  t.match(ok.stdout, /\n {2}request {12}pass {4}200 {5}GET \S+ *\n/)
  t.match(ok.stdout, `✔ request: GET ${base}/api/me\n    sent      origin: ${ALLOWED}; user-agent: fastify-cors-io doctor; cookie: session=unsigned\n    received  200; access-control-allow-origin: ${ALLOWED}; access-control-allow-credentials: true; vary: Origin\n`)
  t.match(ok.stdout, /\n {4}note {6}the namespace refused the CONNECT \(socket\.io CONNECT_ERROR \{"message":"unauthorized"\}\); that is the app's authentication, not CORS\n/)
  t.match(ok.stdout, /\nEvery step passes\.\n$/)

  const plain = await plainSocketIo(t, { cors: { origin: ALLOWED } })
  const refused = await runCli(['doctor', `${plain}/`, '--origin', EVIL])
  t.equal(refused.code, 1)
  t.match(refused.stdout, /\n {2}polling-send {7}not run {2}- {7}POST \S+&sid= +no session: the handshake failed\n/)
  t.match(refused.stdout, `✖ request: GET ${plain}/\n    sent      origin: ${EVIL}; user-agent: fastify-cors-io doctor\n    received  404; no CORS headers\n`)
  t.match(refused.stdout, `    failure   allow-origin-mismatch (${ALLOWED})\n`)
  t.notOk(refused.stdout.includes('\u001b['), 'no colour when stdout is not a terminal')

  const coloured = await runCli(['doctor', `${plain}/`, '--origin', EVIL, '--no-socket'], { FORCE_COLOR: '1' })
  t.ok(coloured.stdout.includes('\u001b[31m✖'), 'FORCE_COLOR colours the marks')
  const plainText = await runCli(['doctor', `${plain}/`, '--origin', EVIL, '--no-socket'], { FORCE_COLOR: '1', NO_COLOR: '1' })
  t.notOk(plainText.stdout.includes('\u001b['), 'NO_COLOR wins')
  const json = await runCli(['doctor', `${plain}/`, '--origin', EVIL, '--no-socket', '--json'], { FORCE_COLOR: '1' })
  t.notOk(json.stdout.includes('\u001b['), 'never in JSON')
})

t.test('doctor reports a server that does not answer, and refuses bad usage with exit 2', async (t) => {
  const silent = createServer(() => {})
  const url = await listen(t, silent)
  const report = await doctor({ url, origin: ALLOWED, credentials: true, timeoutMs: 200 })
  t.same(rows(report), [['preflight', 'skipped'], ['request', 'fail', 'no-response'], ['polling-handshake', 'fail', 'no-response'], ['polling-send', 'fail'], ['polling-receive', 'fail'], ['websocket', 'fail', 'no-response']])
  t.equal(report.credentials, true)
  t.match(report.steps[1]?.verdict.detail, /no answer within 200 ms/)
  const closed = await doctor({ url: 'https://127.0.0.1:1/', origin: ALLOWED })
  t.same(rows(closed).map(([step, result, failure]) => `${step} ${result} ${failure ?? ''}`.trim()),
    ['preflight skipped', 'request fail no-response', 'polling-handshake fail no-response', 'polling-send fail', 'polling-receive fail', 'websocket fail no-response'])
  t.equal(closed.steps[5]?.sent.url, 'wss://127.0.0.1:1/socket.io/?EIO=4&transport=websocket')

  for (const [args, message] of [
    [['doctor', 'ftp://a.example', '--origin', ALLOWED], /is not an http\(s\) URL/],
    [['doctor', 'http://a.example'], /doctor needs --origin/],
    [['doctor', '--origin', ALLOWED], /doctor takes one URL/],
    [['doctor', 'http://a.example', '--origin', ALLOWED, '--timeout', '0'], /--timeout 0 is not a whole number/],
    [['doctor', 'http://a.example', '--orign', ALLOWED], /unknown option --orign; did you mean --origin\?/],
    [['doctor', 'http://a.example', '--origin', ALLOWED, '--socket-path', 'http://['], /^fastify-cors-io: Invalid URL\n$/]
  ] as const) {
    const run = await runCli(args)
    t.equal(run.code, 2, args.join(' '))
    t.match(run.stderr, message, args.join(' '))
  }
  const timed = await runCliJson<DoctorReport>(['doctor', url, '--origin', ALLOWED, '--timeout', '200', '--credentials', '--no-socket'])
  t.equal(timed.code, 1)
  t.equal(timed.json.credentials, true)
})
