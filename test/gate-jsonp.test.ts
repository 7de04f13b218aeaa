import t from 'tap'
import { hasJsonpKey, hasSessionId } from '../lib/engine-http.js'
import { ALLOWED, pollingHandshake, raw, rawExchange, startApp, upgradeLines } from './helpers/realtime.js'

// engine.io answers polling with JSONP (`___eio[N]("…")`, executable script) whenever the query has a
// `j` key. A <script src> on a foreign page sends that GET with cookies and without Origin.

t.test('JSONP polling handshakes are refused 403 before any session, with or without Origin', async (t) => {
  const { url, counters, logs } = await startApp(t)
  const queries = ['EIO=4&transport=polling&j=0', 'EIO=4&transport=polling&j', 'j=0&EIO=4&transport=polling', 'EIO=4&transport=polling&%6A=0', 'EIO=4&j&transport=polling']
  for (const query of queries) {
    for (const headers of [{ cookie: 'session=user-token' }, { origin: ALLOWED, cookie: 'session=user-token' }] as Array<Record<string, string>>) {
      const response = await raw(`${url()}?${query}`, { headers })
      t.equal(response.status, 403, `${query} (${headers.origin ?? 'no Origin'})`)
      t.match(JSON.parse(response.body), { statusCode: 403, code: 'JSONP_REFUSED' })
      t.notMatch(response.body, /___eio|sid/, 'not JSONP, no session id')
      t.equal(response.headers['set-cookie'], undefined)
      t.equal(response.headers['access-control-allow-origin'], undefined)
      t.equal(response.headers.vary, 'Origin')
    }
  }
  // The sentinel: a plain handshake on the same path does open a session, and is counted.
  await pollingHandshake(url(), {})
  t.equal(counters.engine, 1, 'only the sentinel opened an engine.io session')
  t.ok(logs.some((line) => line.code === 'JSONP_REFUSED' && line.level === 40), 'refusal logged at warn')
  t.equal(logs.filter((line) => line.code === 'JSONP_REFUSED').length, 1, 'logged once per minute, not per request')
})

t.test('JSONP polling with a known sid is refused and the session stays intact', async (t) => {
  const { url, counters } = await startApp(t, { realtime: { pingInterval: 100 } })
  const sid = await pollingHandshake(url())
  const refused = await raw(`${url()}?EIO=4&transport=polling&sid=${sid}&j=1`)
  t.equal(refused.status, 403)
  t.match(JSON.parse(refused.body), { code: 'JSONP_REFUSED' })
  t.notMatch(refused.body, /___eio/)
  const owner = await raw(`${url()}?EIO=4&transport=polling&sid=${sid}`, { headers: { origin: ALLOWED } })
  t.equal(owner.status, 200)
  t.equal(owner.body, '2', 'the ping the refused request did not take')
  t.equal(counters.engine, 1)
})

t.test('EIO=3 JSONP polling (allowEIO3) is refused too; an EIO=3 handshake is the sentinel', async (t) => {
  const { url, counters } = await startApp(t, { realtime: { allowEIO3: true } })
  for (const query of ['EIO=3&transport=polling&j=0', 'transport=polling&j=0']) {
    const response = await raw(`${url()}?${query}`)
    t.equal(response.status, 403, query)
    t.match(JSON.parse(response.body), { code: 'JSONP_REFUSED' })
    t.notMatch(response.body, /___eio/)
  }
  t.equal(counters.engine, 0)
  const sentinel = await raw(`${url()}?EIO=3&transport=polling`)
  t.equal(sentinel.status, 200)
  t.match(sentinel.body, /^\d+:0\{"sid":/, 'EIO=3 handshake served')
  t.equal(counters.engine, 1, 'only the sentinel opened a session')
})

t.test('a request without Origin whose Sec-Fetch-Site is cross-site or same-site is refused', async (t) => {
  const { url, port, counters, logs } = await startApp(t)
  for (const site of ['cross-site', 'same-site']) {
    const response = await raw(`${url()}?EIO=4&transport=polling`, { headers: { 'sec-fetch-site': site, 'sec-fetch-mode': 'no-cors', cookie: 'session=user-token' } })
    t.equal(response.status, 403, site)
    t.match(JSON.parse(response.body), { code: 'CROSS_SITE_REFUSED' })
    t.notMatch(response.body, /sid/)
    const upgrade = await rawExchange(port, upgradeLines(port, '/socket.io/?EIO=4&transport=websocket', { 'sec-fetch-site': site }))
    t.equal(upgrade.statusLine, 'HTTP/1.1 403 Forbidden')
    t.ok(upgrade.closed)
  }
  t.equal(counters.engine, 0)
  t.ok(logs.some((line) => line.code === 'CROSS_SITE_REFUSED' && line.level === 40), 'refusal logged')
  // Sentinels: the same browser request from the page's own origin, a typed URL, and no Fetch Metadata at all.
  for (const headers of [{ 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none' }, {}] as Array<Record<string, string>>) {
    await pollingHandshake(url(), headers)
  }
  t.equal(counters.engine, 3)
})

t.test('an allowed Origin decides even when Sec-Fetch-Site says cross-site', async (t) => {
  const { url, counters } = await startApp(t)
  // The allowlisted app is another site than this server: its requests are cross-site by nature.
  await pollingHandshake(url(), { origin: ALLOWED, 'sec-fetch-site': 'cross-site' })
  t.equal(counters.engine, 1)
})

t.test('hasJsonpKey finds exactly the keys URLSearchParams decodes to `j`', async (t) => {
  for (const url of ['/socket.io/?j', '/socket.io/?j=0', '/socket.io/?a=1&j=', '/socket.io/?%6A=0', '/socket.io/?x&%6a&y', '/socket.io/?j&EIO=4']) {
    t.ok(hasJsonpKey(url), url)
    t.ok(new URL(url, 'http://h').searchParams.has('j'), `${url}: engine.io sees j`)
  }
  for (const url of ['/socket.io/', '/socket.io/?jj=1', '/socket.io/?xj=1', '/socket.io/?a=j', '/socket.io/?J=0', '/socket.io/?EIO=4&transport=polling&t=jx']) {
    t.notOk(hasJsonpKey(url), url)
    t.notOk(new URL(url, 'http://h').searchParams.has('j'), `${url}: engine.io sees no j`)
  }
})

t.test('hasSessionId finds a non-empty sid', async (t) => {
  t.ok(hasSessionId('/socket.io/?EIO=4&sid=abc'))
  t.ok(hasSessionId('/socket.io/?sid=abc&EIO=4'))
  t.notOk(hasSessionId('/socket.io/?EIO=4&sid='))
  t.notOk(hasSessionId('/socket.io/?EIO=4&xsid=abc'))
  t.notOk(hasSessionId('/socket.io/'))
})

t.test('with a static `*` policy the refusal does not vary by Origin, and still is no JSONP', async (t) => {
  const { url, counters } = await startApp(t, { cors: { origins: '*', credentials: false }, realtime: { allowAnyOrigin: true } })
  const response = await raw(`${url()}?EIO=4&transport=polling&j=0`)
  t.equal(response.status, 403)
  t.match(JSON.parse(response.body), { code: 'JSONP_REFUSED' })
  t.equal(response.headers.vary, undefined, 'a static policy sends no Vary: Origin')
  await pollingHandshake(url(), {})
  t.equal(counters.engine, 1, 'only the sentinel opened a session')
})

t.test('the refusal log line carries a bounded part of a long Origin, and its length', async (t) => {
  const { url, logs } = await startApp(t)
  const origin = `https://${'a'.repeat(5000)}.example`
  t.equal((await raw(`${url()}?EIO=4&transport=polling&j=0`, { headers: { origin } })).status, 403)
  const line = logs.find((entry) => entry.code === 'JSONP_REFUSED')
  t.ok(line, 'the refusal is logged')
  t.equal((line?.origin as string).length, 301, '300 characters and an ellipsis')
  t.equal(line?.originLength, origin.length)
})
