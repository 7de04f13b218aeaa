import t from 'tap'
import { parseAllowlist, type AllowlistEntry } from '../lib/allowlist.js'
import {
  describeDecision, matchWildcard, MAX_ORIGIN_LENGTH, OriginMatcher, type AllowReason, type OriginDecision, type RefusalReason, type WildcardSchemes
} from '../lib/origin-matcher.js'

function matcher (entries: string | AllowlistEntry[], decisionCacheSize = 1000): OriginMatcher {
  return new OriginMatcher(parseAllowlist(entries), decisionCacheSize)
}

const ENTRIES: AllowlistEntry[] = [
  'https://a.example',
  'http://localhost:3000',
  'https://bücher.example',
  'http://[0:0::1]:8080',
  'https://*.b.example',
  'http://*.dev.example:8080',
  /https:\/\/c[0-9]\.example/
]
const policy = matcher(ENTRIES)

t.test('allowed origins, and the entry that allowed each', async (t) => {
  const table: Array<[string, AllowReason, string]> = [
    ['https://a.example', 'exact', 'https://a.example'],
    ['http://localhost:3000', 'exact', 'http://localhost:3000'],
    ['https://xn--bcher-kva.example', 'exact', 'https://xn--bcher-kva.example'],
    ['http://[::1]:8080', 'exact', 'http://[::1]:8080'],
    ['https://x.b.example', 'wildcard', 'https://*.b.example'],
    ['https://x.y.b.example', 'wildcard', 'https://*.b.example'],
    ['https://x-1.b.example', 'wildcard', 'https://*.b.example'],
    ['http://api.dev.example:8080', 'wildcard', 'http://*.dev.example:8080'],
    ['https://c1.example', 'pattern', '/https:\\/\\/c[0-9]\\.example/']
  ]
  for (const [origin, reason, entry] of table) {
    t.same(policy.decide(origin), { allowed: true, reason, entry }, origin)
  }
})

t.test('bypass attempts are refused', async (t) => {
  const table: Array<[string, RefusalReason]> = [
    ['https://a.example.evil.net', 'not-listed'],
    ['https://evila.example', 'not-listed'],
    ['https://a.exampleevil.net', 'not-listed'],
    ['https://evil.net?https://a.example', 'malformed'],
    ['https://evil.net#https://a.example', 'malformed'],
    ['https://a.example@evil.net', 'malformed'],
    ['https://b.example.evil.net', 'not-listed'],
    ['https://evilb.example', 'not-listed'],
    ['https://x.b.example.evil.net', 'not-listed'],
    ['https://evil.net/x.b.example', 'malformed'],
    ['https://evil.net#.b.example', 'malformed'],
    ['https://c1.example.evil.net', 'not-listed'],
    ['https://evil.c1.example', 'not-listed'],
    ['https://c12.example', 'not-listed'],
    ['https://a.example, https://evil.net', 'malformed'],
    ['https://evil.net, https://a.example', 'malformed']
  ]
  for (const [origin, reason] of table) {
    t.match(policy.decide(origin), { allowed: false, reason }, origin)
  }
})

t.test('non-canonical forms of an allowed origin are refused and say what they look like', async (t) => {
  const table: Array<[string, string]> = [
    ['https://A.example', 'https://a.example'],
    ['HTTPS://a.example', 'https://a.example'],
    ['https://a.example:443', 'https://a.example'],
    ['https://a.example:0443', 'https://a.example'],
    ['https://a.example/', 'https://a.example'],
    ['https://bücher.example', 'https://xn--bcher-kva.example'],
    ['http://[0:0::1]:8080', 'http://[::1]:8080'],
    ['https://X.b.example', 'https://*.b.example'],
    ['https://x.b.example:443', 'https://*.b.example'],
    ['https://C1.example', '/https:\\/\\/c[0-9]\\.example/'],
    ['https://c1.example/', '/https:\\/\\/c[0-9]\\.example/']
  ]
  for (const [origin, entry] of table) {
    t.same(policy.decide(origin), { allowed: false, reason: 'non-canonical', entry }, origin)
  }
})

t.test('a listed host with another scheme or port is refused with the entry it differs from', async (t) => {
  const table: Array<[string, RefusalReason, string]> = [
    ['http://a.example', 'scheme-differs', 'https://a.example'],
    ['https://localhost:3000', 'scheme-differs', 'http://localhost:3000'],
    ['https://a.example:8443', 'port-differs', 'https://a.example'],
    ['https://a.example:80', 'port-differs', 'https://a.example'],
    ['http://localhost:3001', 'port-differs', 'http://localhost:3000'],
    ['http://x.b.example', 'scheme-differs', 'https://*.b.example'],
    ['http://c1.example', 'scheme-differs', '/https:\\/\\/c[0-9]\\.example/']
  ]
  for (const [origin, reason, entry] of table) {
    t.same(policy.decide(origin), { allowed: false, reason, entry }, origin)
  }
})

t.test('values that are not serialized origins are refused as malformed', async (t) => {
  for (const origin of ['null', 'null ', '', 'garbage', 'https://', 'https://a.example/path', 'ftp://A.example', 'https://Z.example', 'https://z.example:443', '*']) {
    t.same(policy.decide(origin), { allowed: false, reason: 'malformed' }, JSON.stringify(origin))
  }
})

t.test('an absent Origin is its own refusal reason', async (t) => {
  t.same(policy.decide(undefined), { allowed: false, reason: 'absent' })
})

t.test('a well-formed unknown origin is not listed', async (t) => {
  t.same(policy.decide('https://unknown.example'), { allowed: false, reason: 'not-listed' })
  t.same(policy.decide('chrome-extension://abcdef'), { allowed: false, reason: 'not-listed' })
  t.same(policy.decide('http://[::2]:8080'), { allowed: false, reason: 'not-listed' })
})

t.test('a wildcard never matches its apex', async (t) => {
  const only = matcher(['https://*.example.com'])
  t.match(only.decide('https://example.com'), { allowed: false, reason: 'not-listed' })
  t.match(only.decide('https://.example.com'), { allowed: false })
})

t.test('a wildcard stands for whole labels only', async (t) => {
  const only = matcher(['https://*.example.com'])
  t.match(only.decide('https://xexample.com'), { allowed: false, reason: 'not-listed' })
  t.match(only.decide('https://x_y.example.com'), { allowed: false })
  t.match(only.decide('https://x..example.com'), { allowed: false })
  t.match(only.decide('https://a.b.example.com'), { allowed: true, reason: 'wildcard' })
})

t.test('a wildcard requires its scheme and port', async (t) => {
  const only = matcher(['https://*.example.com', 'http://*.example.net:8080'])
  t.match(only.decide('http://x.example.com'), { allowed: false })
  t.match(only.decide('https://x.example.com:8443'), { allowed: false })
  t.match(only.decide('http://x.example.net'), { allowed: false })
  t.match(only.decide('http://x.example.net:8081'), { allowed: false })
  t.match(only.decide('https://x.example.net:8080'), { allowed: false })
  t.match(only.decide('http://x.example.net:8080'), { allowed: true })
})

t.test('wildcards for both schemes on one domain each keep their own scheme', async (t) => {
  const both = matcher(['https://*.example.com', 'http://*.example.com'])
  t.same(both.decide('http://x.example.com'), { allowed: true, reason: 'wildcard', entry: 'http://*.example.com' })
  t.same(both.decide('https://x.example.com'), { allowed: true, reason: 'wildcard', entry: 'https://*.example.com' })
})

t.test('a wildcard never admits another scheme, even a non-http one', async (t) => {
  t.same(matcher(['https://*.example.com']).decide('ftp://x.example.com'), { allowed: false, reason: 'scheme-differs', entry: 'https://*.example.com' })
})

t.test('a RegExp entry must match the whole origin', async (t) => {
  const only = matcher([/https:\/\/a\.example/])
  t.match(only.decide('https://a.example'), { allowed: true, reason: 'pattern' })
  t.match(only.decide('https://a.example.evil.net'), { allowed: false })
  t.match(only.decide('https://evil.net/https://a.example'), { allowed: false })
  t.match(only.decide('xhttps://a.example'), { allowed: false })
})

t.test('a RegExp with alternation is anchored as a whole', async (t) => {
  const only = matcher([/https:\/\/a\.example|https:\/\/b\.example/])
  t.match(only.decide('https://b.example'), { allowed: true })
  t.match(only.decide('https://a.example.evil.net'), { allowed: false })
  t.match(only.decide('https://evil.net.b.example'), { allowed: false })
})

t.test('a case-insensitive RegExp still refuses non-canonical upper case', async (t) => {
  const only = matcher([/https:\/\/a\.example/i])
  t.match(only.decide('https://A.EXAMPLE'), { allowed: false, reason: 'non-canonical' })
})

t.test('"*" allows every value, even malformed ones', async (t) => {
  const any = matcher('*')
  for (const origin of ['https://a.example', 'null', 'garbage']) {
    t.same(any.decide(origin), { allowed: true, reason: 'any', entry: '*' }, origin)
  }
  t.same(any.decide(undefined), { allowed: false, reason: 'absent' })
})

t.test('non-exact decisions are memoized: a repeated origin gets the same decision', async (t) => {
  const cached = matcher([/https:\/\/c[0-9]\.example/], 10)
  const first = cached.decide('https://c1.example')
  t.equal(cached.cacheSize, 1)
  t.equal(cached.decide('https://c1.example'), first)
  t.equal(cached.cacheSize, 1)
})

t.test('the decision cache never exceeds its limit under 5,000 distinct origins', async (t) => {
  const cached = matcher([/https:\/\/c[0-9]+\.example/], 100)
  t.equal(cached.cacheLimit, 100)
  let largest = 0
  for (let i = 0; i < 5000; i++) {
    const decision = cached.decide(`https://c${i}.example`)
    if (!decision.allowed) t.fail(`c${i} refused`)
    cached.decide(`https://evil${i}.example`)
    largest = Math.max(largest, cached.cacheSize)
  }
  t.equal(largest, 100)
  t.equal(cached.cacheSize, 100)
})

t.test('the decision cache evicts oldest first', async (t) => {
  // Non-canonical refusals are built afresh on every miss, so identity shows what was cached.
  const cached = matcher([/https:\/\/c[0-9]\.example/], 2)
  const first = cached.decide('https://C1.example')
  cached.decide('https://C2.example')
  const third = cached.decide('https://C3.example')
  t.equal(cached.decide('https://C3.example'), third, 'the newest is still cached')
  t.not(cached.decide('https://C1.example'), first, 'the oldest was evicted and decided afresh')
  t.same(cached.decide('https://C1.example'), first)
})

t.test('decisionCacheSize 0 disables the cache, decisions stay right', async (t) => {
  const uncached = matcher([/https:\/\/c[0-9]\.example/], 0)
  t.match(uncached.decide('https://c1.example'), { allowed: true })
  t.match(uncached.decide('https://c1.example.evil.net'), { allowed: false })
  t.equal(uncached.cacheSize, 0)
  t.equal(uncached.cacheLimit, 0)
})

t.test('exact decisions never touch the decision cache; wildcard matches and refusals are memoized', async (t) => {
  const cached = matcher(['https://a.example', 'https://*.b.example'])
  cached.decide('https://a.example')
  t.equal(cached.cacheSize, 0, 'an exact hit is one lookup, not cached')
  const wildcard = cached.decide('https://x.b.example')
  const refusal = cached.decide('https://evil.example')
  t.equal(cached.cacheSize, 2)
  t.equal(cached.decide('https://x.b.example'), wildcard)
  t.equal(cached.decide('https://evil.example'), refusal)
})

t.test('the matcher is frozen', async (t) => {
  t.ok(Object.isFrozen(policy))
})

t.test('describeDecision says why, for every reason', async (t) => {
  const table: Array<[string | undefined, string]> = [
    ['https://a.example', 'Origin "https://a.example" is allowed by entry https://a.example'],
    [undefined, 'A request without Origin is refused: an Origin header is required here'],
    ['null', 'Origin "null" is refused: it is not a serialized origin'],
    ['https://A.example', 'looks like the allowed https://a.example'],
    ['http://a.example', 'its host is listed with another scheme (https://a.example)'],
    ['https://a.example:8443', 'its host is listed with another port (https://a.example)'],
    ['https://unknown.example', 'it is not in the allowlist'],
    [`https://${'a'.repeat(300)}.example`, 'it is longer than any origin can be (267 characters)']
  ]
  for (const [origin, sentence] of table) {
    t.match(describeDecision(origin, policy.decide(origin)), sentence, String(origin))
  }
})

t.test('describeDecision shortens a very long origin', async (t) => {
  const long = `https://${'a'.repeat(500)}.example`
  const sentence = describeDecision(long, policy.decide(long))
  t.ok(sentence.length < 300)
  t.match(sentence, `${long.slice(0, 200)}…`)
})

/** An origin of exactly `length` characters: `https://` + labels of `a` + `suffix`. */
function originOfLength (length: number, suffix: string): string {
  const labels = 'a.'.repeat(Math.ceil(length / 2)).slice(0, length - 'https://'.length - suffix.length)
  return `https://${labels.endsWith('.') ? `${labels.slice(0, -2)}aa` : labels}${suffix}`
}

t.test('the longest origin there can be is 267 characters: https://, a 253-character name, :65535', async (t) => {
  t.equal(MAX_ORIGIN_LENGTH, 267)
})

t.test('an Origin longer than any origin can be is refused as too-long, before the cache', async (t) => {
  const only = matcher(['https://a.example', 'https://*.example.com', /https:\/\/[a-z.]+\.example\.net/], 10)
  const huge = `https://${'a.'.repeat(30_000)}example.com`
  t.same(only.decide(huge), { allowed: false, reason: 'too-long' })
  t.same(only.decide(`${'https://a.example'.padEnd(60_000, ' ')}`), { allowed: false, reason: 'too-long' })
  t.equal(only.cacheSize, 0, 'no cache entry for a too-long value')
})

t.test('an Origin of 266 or 267 characters is decided, one of 268 is too long', async (t) => {
  // With the longest port, so that the host stays a DNS name of at most 253 characters.
  const only = matcher(['https://*.example.com:65535'])
  for (const [length, expected] of [[266, { allowed: true, reason: 'wildcard' }], [267, { allowed: true, reason: 'wildcard' }], [268, { allowed: false, reason: 'too-long' }]] as const) {
    const origin = originOfLength(length, '.example.com:65535')
    t.equal(origin.length, length)
    t.match(only.decide(origin), expected, `${length} characters`)
  }
})

t.test('wildcard matching does at most one lookup per label of the longest suffix, however many dots the Origin has', async (t) => {
  const table = new Map<string, WildcardSchemes>([
    ['.example.com', { https: { allowed: true, reason: 'wildcard', entry: 'https://*.example.com' } }],
    ['.a.example.org:8443', { https: { allowed: true, reason: 'wildcard', entry: 'https://*.a.example.org:8443' } }]
  ])
  const looked: string[] = []
  const counting = { get: (suffix: string) => { looked.push(suffix); return table.get(suffix) } }
  const decide = (origin: string): OriginDecision | undefined => {
    looked.length = 0
    return matchWildcard(origin, counting, '.a.example.org:8443'.length, 3)
  }
  for (const [origin, entry] of [
    [`https://${'a.'.repeat(20_000)}example.com`, 'https://*.example.com'],
    [`https://${'a.'.repeat(20_000)}a.example.org:8443`, 'https://*.a.example.org:8443'],
    [`https://${'a.'.repeat(20_000)}b.example.net`, undefined],
    [`https://${'a.'.repeat(20_000)}`, undefined],
    [`https://${'.'.repeat(20_000)}example.com`, undefined]
  ] as const) {
    t.equal(decide(origin)?.entry, entry, origin.slice(-30))
    t.ok(looked.length <= 3, `${looked.length} lookups for ${origin.length} characters`)
    t.ok(looked.every((suffix) => suffix.length <= '.a.example.org:8443'.length), 'no looked-up suffix is longer than the longest entry')
  }
})

t.test('a wildcard admits the longest matching suffix, and checks the labels before it', async (t) => {
  const both = matcher(['https://*.example.com', 'https://*.a_b.example.com'])
  t.same(both.decide('https://x.a_b.example.com'), { allowed: true, reason: 'wildcard', entry: 'https://*.a_b.example.com' })
  t.same(both.decide('https://x.y.example.com'), { allowed: true, reason: 'wildcard', entry: 'https://*.example.com' })
  t.match(both.decide('https://x_y.a_b.example.com'), { allowed: false })
})

t.test('a RegExp never admits what the URL parser would rewrite or refuse: a default port, a port out of range, another scheme', async (t) => {
  const only = matcher([/[a-z]+:\/\/[a-z0-9.-]+\.example(?::\d+)?/, /http:\/\/\[[0-9a-f:]+\]:8080/])
  t.same(only.decide('https://a.example:443'), { allowed: false, reason: 'non-canonical', entry: '/[a-z]+:\\/\\/[a-z0-9.-]+\\.example(?::\\d+)?/' })
  t.same(only.decide('http://a.example:80'), { allowed: false, reason: 'non-canonical', entry: '/[a-z]+:\\/\\/[a-z0-9.-]+\\.example(?::\\d+)?/' })
  t.match(only.decide('https://a.example:65536'), { allowed: false })
  t.match(only.decide('https://a.example:99999'), { allowed: false })
  t.match(only.decide('ftp://a.example'), { allowed: false })
  t.match(only.decide('ws://a.example'), { allowed: false })
  t.same(only.decide('http://[0:0::1]:8080'), { allowed: false, reason: 'non-canonical', entry: '/http:\\/\\/\\[[0-9a-f:]+\\]:8080/' })
  t.match(only.decide('https://a.example:65535'), { allowed: true, reason: 'pattern' })
  t.match(only.decide('http://[::1]:8080'), { allowed: true, reason: 'pattern' })
})

t.test('a RegExp admits serialized origins the URL parser keeps: a trailing dot, port 0', async (t) => {
  const only = matcher([/https:\/\/[a-z0-9-]+\.example\.?(?::\d+)?/])
  t.match(only.decide('https://a.example.'), { allowed: true, reason: 'pattern' })
  t.match(only.decide('https://a.example.:8443'), { allowed: true, reason: 'pattern' })
  t.match(only.decide('https://a.example:0'), { allowed: true, reason: 'pattern' })
  t.match(only.decide('https://a.example:00'), { allowed: false })
})

t.test('a wildcard never admits a label that is not valid Punycode', async (t) => {
  const only = matcher(['https://*.example.com'])
  t.match(only.decide('https://xn--zz.example.com'), { allowed: false })
  t.match(only.decide('https://a.xn--a.example.com'), { allowed: false })
  t.same(only.decide('https://xn--bcher-kva.example.com'), { allowed: true, reason: 'wildcard', entry: 'https://*.example.com' })
})

t.test('the reason for refusing an IDN value stays the same however often it is decided', async (t) => {
  // Node 20's optimized URL.canParse answered false for Latin-1 text such as "bücher" after a few
  // thousand calls, which turned non-canonical into malformed mid-run.
  const uncached = matcher(['https://bücher.example', 'https://*.example.com'], 0)
  const reasons = new Map<string, number>()
  for (let i = 0; i < 20_000; i++) {
    for (const origin of ['https://bücher.example', 'https://bücher.example.com:443']) {
      const decision = uncached.decide(origin)
      const key = `${decision.reason} ${decision.entry ?? ''}`
      reasons.set(key, (reasons.get(key) ?? 0) + 1)
    }
  }
  t.same(Object.fromEntries(reasons), {
    'non-canonical https://xn--bcher-kva.example': 20_000,
    'non-canonical https://*.example.com': 20_000
  })
  t.same(uncached.decide('https://bü cher.example'), { allowed: false, reason: 'malformed' }, 'Latin-1 text the URL parser refuses')
})

t.test('a RegExp admits an origin only if its source writes out the origin\'s registrable domain (the review\'s mistakes)', async (t) => {
  const table: Array<[RegExp, string, string]> = [
    // [entry, the attacker's origin it matches, an origin it is meant for]
    [/https:\/\/app.example.com/, 'https://appxexample.com', 'https://app.example.com'],
    [/https:\/\/.*example\.com/, 'https://evilexample.com', 'https://a.example.com'],
    [/https:\/\/.*\.example\.com.*/, 'https://a.example.com.evil.net', 'https://a.example.com:8443'],
    [/https:\/\/(www\.)?example\.com(:\d+)?.*/, 'https://example.com.evil.net', 'https://www.example.com:8443'],
    [/https:\/\/\w+\.com/, 'https://attacker.com', 'https://attacker.com']
  ]
  for (const [entry, attacker, meant] of table) {
    const only = matcher([entry])
    t.same(only.decide(attacker), { allowed: false, reason: 'foreign-domain', entry: String(entry) }, `${String(entry)} refuses ${attacker}`)
    if (meant !== attacker) t.same(only.decide(meant), { allowed: true, reason: 'pattern', entry: String(entry) }, `${String(entry)} admits ${meant}`)
  }
})

t.test('RegExps that name their domain, and hosts nobody can register, keep working', async (t) => {
  const table: Array<[RegExp, string]> = [
    [/https:\/\/pr-\d+\.preview\.example\.com/, 'https://pr-12.preview.example.com'],
    [/http:\/\/localhost:\d+/, 'http://localhost:5173'],
    [/http:\/\/127\.0\.0\.1:\d+/, 'http://127.0.0.1:5173'],
    [/https?:\/\/[a-z0-9-]+\.test(:\d+)?/, 'http://app.test:3000'],
    [/https:\/\/[a-z0-9.-]+\.example\.com/, 'https://a.b.example.com'],
    [/https:\/\/app\.example\.com\.?/, 'https://app.example.com.'],
    [/https:\/\/github\.io/, 'https://github.io'],
    [/https:\/\/a\.example\.co\.uk/i, 'https://a.example.co.uk']
  ]
  for (const [entry, origin] of table) {
    t.same(matcher([entry]).decide(origin), { allowed: true, reason: 'pattern', entry: String(entry) }, `${String(entry)} admits ${origin}`)
  }
  t.same(matcher([/https:\/\/[a-z]+\.io/]).decide('https://github.io'), { allowed: false, reason: 'foreign-domain', entry: '/https:\\/\\/[a-z]+\\.io/' },
    'a host that is a public suffix itself must be written out too')
})

t.test('a RegExp admits an IP address only if it is local or written out: a public address is anyone\'s who rents it', async (t) => {
  const anyAddress = /http:\/\/\d+\.\d+\.\d+\.\d+:\d+|http:\/\/\[[0-9a-f:]+\]:\d+/
  const decide = matcher([anyAddress])
  for (const local of ['http://127.0.0.1:3000', 'http://10.1.2.3:8080', 'http://172.16.0.9:8080', 'http://172.31.255.1:8080', 'http://192.168.1.5:8080',
    'http://169.254.1.1:8080', 'http://[::1]:3000', 'http://[fd12:3456::1]:3000', 'http://[fe80::1]:3000']) {
    t.match(decide.decide(local), { allowed: true, reason: 'pattern' }, `${local} is local`)
  }
  for (const foreign of ['http://203.0.113.7:8080', 'http://172.32.0.1:8080', 'http://8.8.8.8:53', 'http://[2001:db8::1]:3000', 'http://[fd::1]:3000']) {
    t.same(decide.decide(foreign), { allowed: false, reason: 'foreign-domain', entry: String(anyAddress) }, `${foreign} is public`)
  }
  t.match(matcher([/http:\/\/203\.0\.113\.7:\d+/]).decide('http://203.0.113.7:8080'), { allowed: true }, 'a public address written out is admitted')
})

t.test('a name counts as written out only as a whole name, not inside a longer one', async (t) => {
  const before = matcher([/https:\/\/[a-z]*example\.com|https:\/\/a\.myevilexample\.com/])
  t.match(before.decide('https://example.com'), { allowed: true }, 'example.com follows a quantifier')
  t.match(before.decide('https://a.myevilexample.com'), { allowed: true }, 'myevilexample.com follows a dot')
  t.same(before.decide('https://evilexample.com'), { allowed: false, reason: 'foreign-domain', entry: String(/https:\/\/[a-z]*example\.com|https:\/\/a\.myevilexample\.com/) },
    'evilexample.com is only the end of the label myevilexample')
  const after = matcher([/https:\/\/[a-z.]+\.com|https:\/\/x\.example\.com\.evil\.net/])
  t.match(after.decide('https://x.example.com.evil.net'), { allowed: true }, 'evil.net ends the source')
  t.match(after.decide('https://a.example.com'), { allowed: false, reason: 'foreign-domain' }, 'example.com is only the start of example.com.evil.net')
})

t.test('the one known false refusal: a domain written with an alternation inside it', async (t) => {
  const split = matcher([/https:\/\/[a-z]+\.example\.(com|org)/])
  t.match(split.decide('https://a.example.com'), { allowed: false, reason: 'foreign-domain' })
  const whole = matcher([/https:\/\/[a-z]+\.example\.com|https:\/\/[a-z]+\.example\.org/])
  t.match(whole.decide('https://a.example.com'), { allowed: true })
  t.match(whole.decide('https://a.example.org'), { allowed: true })
})

t.test('another RegExp that names the domain admits what a looser one matched', async (t) => {
  const loose = /https:\/\/.*\.example\.com.*/
  const both = matcher([loose, /https:\/\/a\.example\.com\.evil\.net/])
  t.same(both.decide('https://a.example.com.evil.net'), { allowed: true, reason: 'pattern', entry: '/https:\\/\\/a\\.example\\.com\\.evil\\.net/' })
  t.same(both.decide('https://b.example.com.evil.net'), { allowed: false, reason: 'foreign-domain', entry: String(loose) })
})

t.test('a wildcard admits only hosts of its own registrable domain, never below a public suffix under it', async (t) => {
  const table: Array<[string, string]> = [
    ['https://*.amazonaws.com', 'https://attacker-bucket.s3.amazonaws.com'],
    ['https://*.amazonaws.com', 'https://abcd1234.execute-api.us-east-1.amazonaws.com'],
    ['https://*.windows.net', 'https://attacker.blob.core.windows.net'],
    ['https://*.core.windows.net', 'https://attacker.web.core.windows.net']
  ]
  for (const [entry, origin] of table) {
    t.same(matcher([entry]).decide(origin), { allowed: false, reason: 'foreign-domain', entry }, `${entry} refuses ${origin}`)
  }
  const own: Array<[string, string]> = [
    ['https://*.example.com', 'https://a.b.example.com'],
    ['https://*.amazonaws.com', 'https://console.amazonaws.com'],
    ['https://*.preview.example.co.uk', 'https://x.preview.example.co.uk'],
    ['https://*.github.io', 'https://a.x.github.io']
  ]
  for (const [entry, origin] of own) {
    t.same(matcher([entry]).decide(origin), { allowed: true, reason: 'wildcard', entry }, `${entry} admits ${origin}`)
  }
})

t.test('a foreign-domain wildcard match leaves room for an entry that names the host', async (t) => {
  const both = matcher(['https://*.amazonaws.com', /https:\/\/media\.s3\.amazonaws\.com/, 'https://*.s3.amazonaws.com:8443'])
  t.same(both.decide('https://media.s3.amazonaws.com'), { allowed: true, reason: 'pattern', entry: '/https:\\/\\/media\\.s3\\.amazonaws\\.com/' })
  t.same(both.decide('https://other.s3.amazonaws.com'), { allowed: false, reason: 'foreign-domain', entry: 'https://*.amazonaws.com' })
  t.same(both.decide('https://other.s3.amazonaws.com:8443'), { allowed: true, reason: 'wildcard', entry: 'https://*.s3.amazonaws.com:8443' })
  t.same(both.decide('https://Other.s3.amazonaws.com'), { allowed: false, reason: 'malformed' }, 'never called a non-canonical form of an allowed origin')
})

t.test('a wildcard refuses a host longer than a DNS name, which has no public suffix', async (t) => {
  const origin = originOfLength(266, '.example.com')
  t.same(matcher(['https://*.example.com']).decide(origin), { allowed: false, reason: 'foreign-domain', entry: 'https://*.example.com' })
})

t.test('foreign-domain decisions are memoized like every non-exact decision', async (t) => {
  const cached = matcher(['https://*.amazonaws.com', /https:\/\/app.example.com/], 10)
  const wildcard = cached.decide('https://attacker-bucket.s3.amazonaws.com')
  const pattern = cached.decide('https://appxexample.com')
  t.equal(cached.cacheSize, 2)
  t.equal(cached.decide('https://attacker-bucket.s3.amazonaws.com'), wildcard)
  t.equal(cached.decide('https://appxexample.com'), pattern)
  t.equal(describeDecision('https://appxexample.com', pattern),
    'Origin "https://appxexample.com" is refused: entry /https:\\/\\/app.example.com/ matches it, but not its registrable domain, which anyone may have registered')
})
