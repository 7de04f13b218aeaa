import t from 'tap'
import {
  browserMessages, corsCheck, FAILURE_FIXES, handshakeCheck, needsPreflight, pollCheck, preflightCheck, requestCheck, unsafeHeaderNames, upgradeCheck,
  type CorsFailure, type MessageContext, type ReceivedResponse
} from '../lib/fetch-cors.js'

const ORIGIN = 'https://app.example'
const URL_ = 'https://api.example/items'

function response (status: number, headers: Record<string, string> = {}, body?: string): ReceivedResponse {
  return body === undefined ? { status, headers } : { status, headers, body }
}

t.test('needsPreflight and unsafeHeaderNames follow the Fetch standard\'s safelists', async (t) => {
  t.notOk(needsPreflight('GET', []))
  t.notOk(needsPreflight('POST', ['Accept', 'Accept-Language', 'Content-Language', 'Range']))
  t.ok(needsPreflight('PUT', []))
  t.ok(needsPreflight('GET', ['X-Request-Id']))
  t.ok(needsPreflight('POST', ['Content-Type']), 'a Content-Type given by name is taken as JSON')
  t.same(unsafeHeaderNames(['X-B', ' x-a ', 'X-A', '', 'Accept']), ['x-a', 'x-b'], 'lowercase, sorted, unique, safelisted ones left out')
})

t.test('corsCheck: the CORS check, byte for byte', async (t) => {
  t.same(corsCheck(ORIGIN, false, response(200, { 'access-control-allow-origin': ORIGIN })), { pass: true })
  t.same(corsCheck(ORIGIN, false, response(200, { 'access-control-allow-origin': '*' })), { pass: true })
  t.same(corsCheck(ORIGIN, false, response(200)), { pass: false, failure: 'missing-allow-origin' })
  t.same(corsCheck(ORIGIN, true, response(200, { 'access-control-allow-origin': '*' })), { pass: false, failure: 'wildcard-with-credentials', detail: '*' })
  t.same(corsCheck(ORIGIN, false, response(200, { 'access-control-allow-origin': `${ORIGIN}/` })), { pass: false, failure: 'allow-origin-mismatch', detail: `${ORIGIN}/` })
  t.same(corsCheck(ORIGIN, false, response(200, { 'access-control-allow-origin': 'HTTPS://app.example' })), { pass: false, failure: 'allow-origin-mismatch', detail: 'HTTPS://app.example' })
  t.same(corsCheck(ORIGIN, false, response(200, { 'access-control-allow-origin': `${ORIGIN}, ${ORIGIN}` })), { pass: false, failure: 'multiple-allow-origin', detail: `${ORIGIN}, ${ORIGIN}` })
  t.same(corsCheck(ORIGIN, true, response(200, { 'access-control-allow-origin': ORIGIN, 'access-control-allow-credentials': 'true' })), { pass: true })
  t.same(corsCheck(ORIGIN, true, response(200, { 'access-control-allow-origin': ORIGIN, 'access-control-allow-credentials': 'TRUE' })), { pass: false, failure: 'credentials-not-true', detail: 'TRUE' })
  t.same(corsCheck(ORIGIN, true, response(200, { 'access-control-allow-origin': ORIGIN })), { pass: false, failure: 'credentials-not-true', detail: '' })
})

t.test('preflightCheck: the CORS check, an ok status, the method and each unsafe header', async (t) => {
  const allow = { 'access-control-allow-origin': ORIGIN }
  t.same(preflightCheck(ORIGIN, false, 'PUT', [], response(204)), { pass: false, failure: 'missing-allow-origin' }, 'the CORS check comes first')
  t.same(preflightCheck(ORIGIN, false, 'PUT', [], response(401, allow)), { pass: false, failure: 'preflight-status', detail: '401' })
  t.same(preflightCheck(ORIGIN, false, 'PUT', [], response(302, allow)), { pass: false, failure: 'preflight-status', detail: '302' })
  t.same(preflightCheck(ORIGIN, false, 'PUT', [], response(204, { ...allow, 'access-control-allow-methods': 'GET, POST' })), { pass: false, failure: 'method-not-allowed', detail: 'PUT' })
  t.same(preflightCheck(ORIGIN, false, 'PUT', [], response(204, { ...allow, 'access-control-allow-methods': 'GET, PUT' })), { pass: true })
  t.same(preflightCheck(ORIGIN, false, 'PUT', [], response(200, { ...allow, 'access-control-allow-methods': '*' })), { pass: true }, '* without credentials')
  const credentialed = { ...allow, 'access-control-allow-credentials': 'true' }
  t.same(preflightCheck(ORIGIN, true, 'PUT', [], response(204, { ...credentialed, 'access-control-allow-methods': '*' })), { pass: false, failure: 'method-not-allowed', detail: 'PUT' }, '* is a name with credentials')
  t.same(preflightCheck(ORIGIN, false, 'POST', ['X-A'], response(204, allow)), { pass: false, failure: 'header-not-allowed', detail: 'x-a' }, 'a safelisted method needs no listing')
  t.same(preflightCheck(ORIGIN, false, 'POST', ['X-A', 'Accept'], response(204, { ...allow, 'access-control-allow-headers': 'x-A' })), { pass: true }, 'names compare case-insensitively')
  t.same(preflightCheck(ORIGIN, false, 'GET', ['X-A'], response(204, { ...allow, 'access-control-allow-headers': '*' })), { pass: true })
  t.same(preflightCheck(ORIGIN, false, 'GET', ['Authorization'], response(204, { ...allow, 'access-control-allow-headers': '*' })), { pass: false, failure: 'header-not-allowed', detail: 'authorization' }, '* never covers Authorization')
  t.same(preflightCheck(ORIGIN, true, 'GET', ['X-A'], response(204, { ...credentialed, 'access-control-allow-headers': '*' })), { pass: false, failure: 'header-not-allowed', detail: 'x-a' })
})

t.test('requestCheck: an error status the page can read is a pass with a note', async (t) => {
  const allow = { 'access-control-allow-origin': ORIGIN }
  t.same(requestCheck(ORIGIN, false, response(200, allow)), { pass: true })
  t.same(requestCheck(ORIGIN, false, response(404, allow)), { pass: true, note: 'status 404: the page can read this error response' })
  t.same(requestCheck(ORIGIN, false, response(403)), { pass: false, failure: 'missing-allow-origin' })
})

t.test('handshakeCheck and pollCheck read engine.io v4 payloads', async (t) => {
  const allow = { 'access-control-allow-origin': ORIGIN }
  t.same(handshakeCheck(ORIGIN, false, response(200, allow, '0{"sid":"abc","upgrades":["websocket"]}')), { pass: true, sid: 'abc' })
  t.same(handshakeCheck(ORIGIN, false, response(200, allow, '0{"sid":"abc"}\u001e40')), { pass: true, sid: 'abc' }, 'a payload of several packets')
  t.same(handshakeCheck(ORIGIN, false, response(200)), { pass: false, failure: 'missing-allow-origin' })
  t.same(handshakeCheck(ORIGIN, false, response(400, allow, '{"code":0,"message":"Transport unknown"}')), { pass: false, failure: 'handshake-failed', detail: '400 {"code":0,"message":"Transport unknown"}' })
  t.same(handshakeCheck(ORIGIN, false, response(200, allow, '0{"sid":1}')), { pass: false, failure: 'handshake-failed', detail: '200 0{"sid":1}' })
  t.same(handshakeCheck(ORIGIN, false, response(200, allow, '0{oops')), { pass: false, failure: 'handshake-failed', detail: '200 0{oops' })
  t.same(handshakeCheck(ORIGIN, false, response(404, allow)), { pass: false, failure: 'handshake-failed', detail: '404 ' })
  t.same(handshakeCheck(ORIGIN, false, response(200, allow)), { pass: false, failure: 'handshake-failed', detail: '200 ' }, 'no body')
  t.same(handshakeCheck(ORIGIN, false, response(200, allow, '<html>')), { pass: false, failure: 'handshake-failed', detail: '200 <html>' }, 'not an engine.io payload')
  t.equal(handshakeCheck(ORIGIN, false, response(500, allow, 'x'.repeat(200))).detail, `500 ${'x'.repeat(120)}…`, 'a long body is cut')

  t.same(pollCheck(ORIGIN, false, response(200, allow, '40{"sid":"s"}')), { pass: true })
  t.same(pollCheck(ORIGIN, false, response(200, allow)), { pass: true })
  t.same(pollCheck(ORIGIN, false, response(200, allow, '2\u001e44{"message":"unauthorized"}')), { pass: true, note: 'the namespace refused the CONNECT (socket.io CONNECT_ERROR {"message":"unauthorized"}); that is the app\'s authentication, not CORS' })
  t.same(pollCheck(ORIGIN, false, response(400, allow, '{"code":1,"message":"Session ID unknown"}')), { pass: false, failure: 'handshake-failed', detail: '400 {"code":1,"message":"Session ID unknown"}' })
  t.same(pollCheck(ORIGIN, false, response(400)), { pass: false, failure: 'missing-allow-origin' })
  t.same(pollCheck(ORIGIN, false, response(502, allow)), { pass: false, failure: 'handshake-failed', detail: '502 ' })
})

t.test('upgradeCheck: a 101 with the right accept passes, unless HTTP refuses the same origin', async (t) => {
  t.same(upgradeCheck(response(101), true, false), { pass: true })
  t.same(upgradeCheck(response(101), false, false), { pass: false, failure: 'websocket-refused', detail: '101' }, 'a wrong Sec-WebSocket-Accept fails the handshake (RFC 6455 §4.1)')
  t.same(upgradeCheck(response(403), false, false), { pass: false, failure: 'websocket-refused', detail: '403' })
  t.same(upgradeCheck(response(101), true, true), { pass: false, failure: 'websocket-accepts-refused-origin' })
})

t.test('browserMessages: each engine\'s wording for each failure', async (t) => {
  const fetchContext: MessageContext = { url: URL_, origin: ORIGIN, status: 403, initiator: 'fetch', preflight: false }
  const chrome = `Access to fetch at '${URL_}' from origin '${ORIGIN}' has been blocked by CORS policy: `
  const firefox = `Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at ${URL_}. (Reason: `
  const safariLoad = ` Fetch API cannot load ${URL_} due to access control checks.`
  const noCors = ' Have the server send the header with a valid value, or, if an opaque response serves your needs, set the request\'s mode to \'no-cors\' to fetch the resource with CORS disabled.'
  t.same(browserMessages('missing-allow-origin', undefined, fetchContext), {
    chrome: `${chrome}No 'Access-Control-Allow-Origin' header is present on the requested resource. If an opaque response serves your needs, set the request's mode to 'no-cors' to fetch the resource with CORS disabled.`,
    firefox: `${firefox}CORS header ‘Access-Control-Allow-Origin’ missing). Status code: 403.`,
    safari: `Origin ${ORIGIN} is not allowed by Access-Control-Allow-Origin. Status code: 403${safariLoad}`
  })
  t.same(browserMessages('allow-origin-mismatch', 'https://other.example', fetchContext), {
    chrome: `${chrome}The 'Access-Control-Allow-Origin' header has a value 'https://other.example' that is not equal to the supplied origin.${noCors}`,
    firefox: `${firefox}CORS header ‘Access-Control-Allow-Origin’ does not match ‘https://other.example’).`,
    safari: `Origin ${ORIGIN} is not allowed by Access-Control-Allow-Origin. Status code: 403${safariLoad}`
  })
  t.same(browserMessages('multiple-allow-origin', 'a, b', fetchContext), {
    chrome: `${chrome}The 'Access-Control-Allow-Origin' header contains multiple values 'a, b', but only one is allowed.${noCors}`,
    firefox: `${firefox}Multiple CORS header ‘Access-Control-Allow-Origin’ not allowed).`,
    safari: `Access-Control-Allow-Origin cannot contain more than one origin.${safariLoad}`
  })
  const xhr: MessageContext = { ...fetchContext, initiator: 'xhr', status: 200 }
  const xhrChrome = `Access to XMLHttpRequest at '${URL_}' from origin '${ORIGIN}' has been blocked by CORS policy: `
  const withCredentials = ' The credentials mode of requests initiated by the XMLHttpRequest is controlled by the withCredentials attribute.'
  const xhrLoad = ` XMLHttpRequest cannot load ${URL_} due to access control checks.`
  t.same(browserMessages('wildcard-with-credentials', '*', xhr), {
    chrome: `${xhrChrome}The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'.${withCredentials}`,
    firefox: `${firefox}Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’).`,
    safari: `Cannot use wildcard in Access-Control-Allow-Origin when credentials flag is true.${xhrLoad}`
  })
  t.same(browserMessages('credentials-not-true', '', xhr), {
    chrome: `${xhrChrome}The value of the 'Access-Control-Allow-Credentials' header in the response is '' which must be 'true' when the request's credentials mode is 'include'.${withCredentials}`,
    firefox: `${firefox}expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’).`,
    safari: `Credentials flag is true, but Access-Control-Allow-Credentials is not "true".${xhrLoad}`
  })
  t.equal(browserMessages('missing-allow-origin', undefined, xhr).chrome, `${xhrChrome}No 'Access-Control-Allow-Origin' header is present on the requested resource.`, 'the no-cors hint is for fetch only')
  t.equal(browserMessages('credentials-not-true', undefined, fetchContext).chrome, `${chrome}The value of the 'Access-Control-Allow-Credentials' header in the response is '' which must be 'true' when the request's credentials mode is 'include'.`)

  const preflight: MessageContext = { ...fetchContext, status: 204, preflight: true }
  const preflightChrome = `${chrome}Response to preflight request doesn't pass access control check: `
  t.same(browserMessages('method-not-allowed', 'PUT', preflight), {
    chrome: `${chrome}Method PUT is not allowed by Access-Control-Allow-Methods in preflight response.`.replace(chrome, preflightChrome),
    firefox: `${firefox}Did not find method in CORS header ‘Access-Control-Allow-Methods’).`,
    safari: `Method PUT is not allowed by Access-Control-Allow-Methods.${safariLoad}`
  })
  t.same(browserMessages('header-not-allowed', 'x-a', preflight), {
    chrome: `${preflightChrome}Request header field x-a is not allowed by Access-Control-Allow-Headers in preflight response.`,
    firefox: `${firefox}header ‘x-a’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response).`,
    safari: `Request header field x-a is not allowed by Access-Control-Allow-Headers.${safariLoad}`
  })
  const failedPreflight: MessageContext = { ...preflight, status: 401 }
  t.same(browserMessages('preflight-status', '401', failedPreflight), {
    chrome: `${preflightChrome}It does not have HTTP ok status.`,
    firefox: `${firefox}CORS preflight response did not succeed). Status code: 401.`,
    safari: `Preflight response is not successful. Status code: 401${safariLoad}`
  })
  t.same(browserMessages('missing-allow-origin', undefined, { ...preflight, status: 403 }).safari, `Preflight response is not successful. Status code: 403${safariLoad}`,
    'WebKit judges a preflight\'s status before its headers')
  t.equal(browserMessages('missing-allow-origin', undefined, { ...preflight, status: 204 }).safari, `Origin ${ORIGIN} is not allowed by Access-Control-Allow-Origin. Status code: 204${safariLoad}`)
  t.equal(browserMessages('missing-allow-origin', undefined, { ...preflight, status: 302 }).safari, `Preflight response is not successful. Status code: 302${safariLoad}`)

  t.same(browserMessages('handshake-failed', '403 …', { ...xhr, status: 403 }), {
    chrome: `GET ${URL_} 403 (socket.io-client: connect_error "xhr poll error")`,
    firefox: `XHR GET ${URL_} [HTTP/1.1 403] (socket.io-client: connect_error "xhr poll error")`,
    safari: 'Failed to load resource: the server responded with a status of 403 (socket.io-client: connect_error "xhr poll error")'
  })
  const down: MessageContext = { url: URL_, origin: ORIGIN, initiator: 'fetch', preflight: false }
  t.same(browserMessages('no-response', 'ECONNREFUSED', down), {
    chrome: `Failed to load resource: net::ERR_CONNECTION_REFUSED (or another net:: error) for ${URL_}`,
    firefox: `${firefox}CORS request did not succeed). Status code: (null).`,
    safari: `Fetch API cannot load ${URL_}. Could not connect to the server.`
  })
  t.equal(browserMessages('no-response', undefined, { ...down, initiator: 'xhr' }).safari, `XMLHttpRequest cannot load ${URL_}. Could not connect to the server.`)

  const ws = 'ws://api.example/socket.io/?EIO=4&transport=websocket'
  const wsContext: MessageContext = { url: ws, origin: ORIGIN, status: 403, initiator: 'websocket', preflight: false }
  t.same(browserMessages('websocket-refused', '403', wsContext), {
    chrome: `WebSocket connection to '${ws}' failed: Error during WebSocket handshake: Unexpected response code: 403`,
    firefox: `Firefox can’t establish a connection to the server at ${ws}.`,
    safari: `WebSocket connection to '${ws}' failed: The server did not accept the WebSocket handshake.`
  })
  t.same(browserMessages('no-response', undefined, { ...wsContext, status: undefined }), {
    chrome: `WebSocket connection to '${ws}' failed: `,
    firefox: `Firefox can’t establish a connection to the server at ${ws}.`,
    safari: `WebSocket connection to '${ws}' failed: Could not connect to the server.`
  })
  t.match(browserMessages('websocket-accepts-refused-origin', undefined, { ...wsContext, status: 101 }).chrome, /^no message: the browser opens the socket/)
})

t.test('every failure has a fix', async (t) => {
  const failures: CorsFailure[] = ['no-response', 'missing-allow-origin', 'multiple-allow-origin', 'allow-origin-mismatch', 'wildcard-with-credentials', 'credentials-not-true',
    'preflight-status', 'method-not-allowed', 'header-not-allowed', 'handshake-failed', 'websocket-refused', 'websocket-accepts-refused-origin']
  t.same(Object.keys(FAILURE_FIXES).sort(), [...failures].sort())
  t.ok(Object.isFrozen(FAILURE_FIXES))
})

t.test('lib/fetch-cors imports nothing, so a browser page can load it as it is', async (t) => {
  const { readFile } = await import('node:fs/promises')
  const source = await readFile(new URL('../lib/fetch-cors.ts', import.meta.url), 'utf8')
  t.notMatch(source, /^import /m)
})
