import t from 'tap'
import { runCli, runCliJson } from './helpers/cli.js'

interface ExplainJson {
  explanation: null | {
    origin: string
    decision: { allowed: boolean, reason: string, entry?: string }
    description: string
    fix?: string
    change?: { entry: string, setting: string, origins: string[], warnings: string[] }
    noSafeChange?: string
  }
  findings: Array<{ severity: string, setting?: string }>
}

const ORIGINS = ['--origins', 'https://app.example.com,https://*.example.net', '--origins', '/https:\\/\\/pr-\\d+\\.preview\\.example\\.org/']

t.test('explain exits 0 and names the entry for each way an origin is allowed', async (t) => {
  for (const [origin, reason, entry] of [
    ['https://app.example.com', 'exact', 'https://app.example.com'],
    ['https://eu.example.net', 'wildcard', 'https://*.example.net'],
    ['https://pr-12.preview.example.org', 'pattern', '/https:\\/\\/pr-\\d+\\.preview\\.example\\.org/']
  ]) {
    const { code, json } = await runCliJson<ExplainJson>(['explain', origin, ...ORIGINS])
    t.equal(code, 0, `${reason}: exit 0`)
    t.same(json.explanation?.decision, { allowed: true, reason, entry }, `${reason}: the entry`)
  }
  const any = await runCliJson<ExplainJson>(['explain', 'https://anyone.example', '--origins', '*'])
  t.equal(any.code, 0)
  t.same(any.json.explanation?.decision, { allowed: true, reason: 'any', entry: '*' })
})

t.test('explain exits 1 with the reason, the log\'s fix and the smallest change, for each refusal reason', async (t) => {
  const cases: Array<{ origin: string, reason: string, entry?: string, change?: string, none?: RegExp }> = [
    { origin: 'https://evil.example', reason: 'not-listed', change: 'https://evil.example' },
    { origin: 'http://app.example.com', reason: 'scheme-differs', entry: 'https://app.example.com', change: 'http://app.example.com' },
    { origin: 'https://app.example.com:8443', reason: 'port-differs', entry: 'https://app.example.com', change: 'https://app.example.com:8443' },
    { origin: 'https://pr-1.preview.example.org.evil.com', reason: 'not-listed', change: 'https://pr-1.preview.example.org.evil.com' },
    { origin: 'https://APP.example.com', reason: 'non-canonical', entry: 'https://app.example.com', none: /the form they send is already allowed/ },
    { origin: 'null', reason: 'malformed', none: /^"null" is the Origin of sandboxed iframes/ },
    { origin: 'https://app.example.com/path', reason: 'malformed', none: /browsers never send this value/ },
    { origin: `https://${'a'.repeat(300)}.example.com`, reason: 'too-long', none: /no origin is that long/ }
  ]
  for (const c of cases) {
    const { code, json } = await runCliJson<ExplainJson>(['explain', c.origin, ...ORIGINS])
    t.equal(code, 1, `${c.reason} (${c.origin.slice(0, 40)}): exit 1`)
    const explanation = json.explanation
    t.equal(explanation?.decision.reason, c.reason, `${c.reason}: the reason`)
    t.equal(explanation?.decision.entry, c.entry, `${c.reason}: the entry it resembles`)
    t.type(explanation?.fix, 'string', `${c.reason}: the fix the log line gives`)
    if (c.change !== undefined) t.equal(explanation?.change?.entry, c.change, `${c.reason}: the entry to add`)
    if (c.none !== undefined) t.match(explanation?.noSafeChange, c.none, `${c.reason}: why no change is safe`)
  }
})

t.test('explain: a wildcard never reaches below a public suffix, and the change is the exact origin', async (t) => {
  const { code, json } = await runCliJson<ExplainJson>(['explain', 'https://bucket.s3.amazonaws.com', '--origins', 'https://*.amazonaws.com'])
  t.equal(code, 1)
  t.same(json.explanation?.decision, { allowed: false, reason: 'foreign-domain', entry: 'https://*.amazonaws.com' })
  t.same(json.explanation?.change, { entry: 'https://bucket.s3.amazonaws.com', setting: 'origins', origins: ['https://*.amazonaws.com', 'https://bucket.s3.amazonaws.com'], warnings: [] })
})

t.test('explain prints the verdict as a table, with the change written for CORS_ORIGINS when the list comes from there', async (t) => {
  const { code, stdout } = await runCli(['explain', 'http://b.example', '--credentials'], { CORS_ORIGINS: 'https://a.example' })
  t.equal(code, 1)
  t.equal(stdout, [
    'Origin "http://b.example" is refused: it is not in the allowlist',
    '  verdict     refused',
    '  reason      not-listed',
    '  log fix     if this origin is yours, add it to origins (or CORS_ORIGINS)',
    '  change      add http://b.example to CORS_ORIGINS, only if that origin is yours:',
    '              CORS_ORIGINS=https://a.example,http://b.example',
    '  then warns  origin http://b.example is plain http with credentials: anyone on its network path can act as it',
    ''
  ].join('\n'))
})

t.test('explain prints the entry of an allowed origin, the entry a refused one resembles, and why no change is safe', async (t) => {
  const allowed = await runCli(['explain', 'https://app.example.com', ...ORIGINS])
  t.equal(allowed.code, 0)
  t.equal(allowed.stdout, 'Origin "https://app.example.com" is allowed by entry https://app.example.com\n  verdict  allowed\n  reason   exact\n  entry    https://app.example.com\n')
  const resembles = await runCli(['explain', 'http://app.example.com', '--origins', 'https://app.example.com'])
  t.match(resembles.stdout, /\n {2}resembles {2}https:\/\/app\.example\.com\n/)
  t.match(resembles.stdout, /\n {2}change {5}add http:\/\/app\.example\.com to origins, only if that origin is yours:\n {13}origins: \["https:\/\/app\.example\.com","http:\/\/app\.example\.com"\]\n$/)
  const none = await runCli(['explain', 'null', '--origins', 'https://app.example.com'])
  t.match(none.stdout, /\n {2}change {3}none is safe: "null" is the Origin of sandboxed iframes/)
})

t.test('explain exits 2 on an invalid configuration or without an origin', async (t) => {
  const unreadable = await runCliJson<ExplainJson>(['explain', 'https://a.example', '--config', '/nonexistent/check.json'])
  t.equal(unreadable.code, 2)
  t.equal(unreadable.json.findings[0]?.setting, '/nonexistent/check.json')
  const invalid = await runCliJson<ExplainJson>(['explain', 'https://a.example', '--origins', 'https://a.example/'])
  t.equal(invalid.code, 2)
  t.equal(invalid.json.explanation, null)
  t.equal(invalid.json.findings[0]?.severity, 'error')
  const text = await runCli(['explain', 'https://a.example'])
  t.equal(text.code, 2)
  t.match(text.stdout, /Error, start-up would fail:\n {2}✖ \[corsPolicy\] origins: no origin is configured/)
  const none = await runCli(['explain', '--origins', 'https://a.example'])
  t.equal(none.code, 2)
  t.match(none.stderr, /explain takes one ORIGIN/)
})
