import t from 'tap'
import fc from 'fast-check'
import { normalizeEntry, parseAllowlist, type AllowlistEntry } from '../lib/allowlist.js'
import { configError } from './helpers/errors.js'

t.test('exact entries are normalized to the form browsers send', async (t) => {
  const table: Array<[string, string]> = [
    ['https://app.example.com', 'https://app.example.com'],
    ['HTTPS://App.Example.COM', 'https://app.example.com'],
    ['https://a.example:443', 'https://a.example'],
    ['http://a.example:80', 'http://a.example'],
    ['https://a.example:8443', 'https://a.example:8443'],
    ['http://a.example:443', 'http://a.example:443'],
    ['https://bücher.example', 'https://xn--bcher-kva.example'],
    ['http://[0:0::1]:8080', 'http://[::1]:8080'],
    ['http://[::1]', 'http://[::1]'],
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000']
  ]
  for (const [entry, expected] of table) {
    t.equal(normalizeEntry(entry), expected, entry)
  }
})

t.test('wildcard entries are normalized and keep their scheme', async (t) => {
  const table: Array<[string, string, 'http' | 'https']> = [
    ['https://*.example.com', 'https://*.example.com', 'https'],
    ['HTTPS://*.Example.COM', 'https://*.example.com', 'https'],
    ['https://*.example.com:443', 'https://*.example.com', 'https'],
    ['http://*.example.com:8080', 'http://*.example.com:8080', 'http'],
    ['https://*.bücher.example', 'https://*.xn--bcher-kva.example', 'https']
  ]
  for (const [entry, text, scheme] of table) {
    t.same(normalizeEntry(entry), { text, scheme }, entry)
  }
})

t.test('a comma-separated string is split, trimmed, and empty items dropped', async (t) => {
  const allowlist = parseAllowlist(' https://a.example , https://b.example,, ')
  t.same([...allowlist.exact], ['https://a.example', 'https://b.example'])
})

t.test('entries that normalize to the same origin are kept once', async (t) => {
  const allowlist = parseAllowlist(['https://a.example', 'HTTPS://A.example:443', 'https://*.b.example', 'https://*.B.example:443'])
  t.same([...allowlist.exact], ['https://a.example'])
  t.equal(allowlist.wildcards.length, 1)
})

t.test('entries are sorted into exact, wildcard and pattern lists', async (t) => {
  const allowlist = parseAllowlist(['https://a.example', 'https://*.b.example', /https:\/\/c[0-9]\.example/i])
  t.equal(allowlist.any, false)
  t.same([...allowlist.exact], ['https://a.example'])
  t.same(allowlist.wildcards.map((w) => w.text), ['https://*.b.example'])
  t.equal(allowlist.patterns.length, 1)
  t.equal(allowlist.patterns[0].text, '/https:\\/\\/c[0-9]\\.example/i')
})

t.test('a RegExp entry is anchored to a full match and keeps its flags', async (t) => {
  const [pattern] = parseAllowlist([/https:\/\/a\.example/i]).patterns
  t.equal(pattern.anchored.source, '^(?:https:\\/\\/a\\.example)$')
  t.equal(pattern.anchored.flags, 'i')
})

t.test('"*" alone means any origin', async (t) => {
  t.equal(parseAllowlist('*').any, true)
  t.equal(parseAllowlist([' * ']).any, true)
})

t.test('the parsed allowlist is frozen', async (t) => {
  const allowlist = parseAllowlist(['https://*.b.example', /x/])
  t.ok(Object.isFrozen(allowlist))
  t.ok(Object.isFrozen(allowlist.wildcards))
  t.ok(Object.isFrozen(allowlist.wildcards[0]))
  t.ok(Object.isFrozen(allowlist.patterns))
  t.ok(Object.isFrozen(allowlist.patterns[0]))
})

t.test('bad entries are refused, naming the entry, the rule and the fix', async (t) => {
  // [entry, words of the problem, words of the fix]
  const table: Array<[string, string, string]> = [
    ['https://a.example/', 'trailing slash', 'write "https://a.example"'],
    ['https://a.example/path', 'has a path', 'write "https://a.example"'],
    ['https://a.example\\path', 'has a path', 'write "https://a.example"'],
    ['https://a.example?x=1', 'has a query', 'write "https://a.example"'],
    ['https://a.example#top', 'has a fragment', 'write "https://a.example"'],
    ['https://user:secret@a.example', 'user information', 'write "https://a.example"'],
    ['a.example', 'has no scheme', 'e.g. "https://a.example"'],
    ['//a.example', 'has no scheme', 'e.g. "https://a.example"'],
    ['*.example.com', 'has no scheme', 'e.g. "https://*.example.com"'],
    ['ftp://a.example', 'not http or https', 'http(s) origin'],
    ['wss://a.example', 'not http or https', 'http(s) origin'],
    ['null', 'sandboxed iframes', 'remove it'],
    ['NULL', 'sandboxed iframes', 'remove it'],
    ['https://a .example', 'whitespace', 'remove the spaces'],
    ['https://a.example:99999', 'not a valid host', 'scheme://host[:port]'],
    ['https://', 'not a valid host', 'scheme://host[:port]'],
    ['https://*.com', 'whole top-level domain', 'https://*.example.com'],
    ['https://*.localhost', 'whole top-level domain', 'https://*.example.com'],
    ['https://*', 'malformed wildcard', 'https://*.example.com'],
    ['https://*example.com', 'malformed wildcard', 'https://*.example.com'],
    ['https://a.*.example.com', 'malformed wildcard', 'https://*.example.com'],
    ['https://*.*.example.com', 'malformed wildcard', 'https://*.example.com'],
    ['https://*.example.com:99999', 'not a valid host', 'scheme://host[:port]'],
    ['https://*..com', 'empty label', 'https://*.example.com'],
    ['https://*.com.', 'empty label', 'https://*.example.com'],
    ['https://*.example..com', 'empty label', 'https://*.example.com']
  ]
  for (const [entry, problem, fix] of table) {
    const error = configError(() => parseAllowlist([entry]))
    t.equal(error.code, 'FST_CORS_IO_INVALID_CONFIG', `${entry}: code`)
    t.equal(error.setting, `origins entry "${entry}"`, `${entry}: names the entry`)
    t.match(error.message, problem, `${entry}: states the rule`)
    t.match(error.fix, fix, `${entry}: gives the fix`)
    t.match(error.message, `Fix: ${error.fix}`, `${entry}: the message carries the fix`)
  }
})

t.test('an empty entry in a list is refused', async (t) => {
  const error = configError(() => parseAllowlist(['https://a.example', '']))
  t.equal(error.setting, 'origins')
  t.match(error.message, 'empty')
})

t.test('a RegExp with the g or y flag is refused, with the flag-free RegExp as fix', async (t) => {
  for (const [pattern, fix] of [[/x\.example/g, '/x\\.example/'], [/x/iy, '/x/i']] as const) {
    const error = configError(() => parseAllowlist([pattern]))
    t.equal(error.setting, `origins entry ${String(pattern)}`)
    t.match(error.message, 'g or y flag')
    t.match(error.fix, fix)
  }
})

t.test('an entry that is neither a string nor a RegExp is refused', async (t) => {
  const error = configError(() => parseAllowlist([42] as unknown as AllowlistEntry[]))
  t.equal(error.setting, 'origins')
  t.match(error.message, 'entry 42 is a number')
})

t.test('origins that are neither a string nor an array are refused', async (t) => {
  const table: Array<[unknown, string]> = [
    [42, 'got a value of type number, not a string or an array'],
    [null, 'got null, not a string or an array'],
    [{ origin: 'https://a.example' }, 'got a value of type object, not a string or an array'],
    [/https:\/\/a\.example/, 'got the single RegExp /https:\\/\\/a\\.example/ (wrap it in an array)']
  ]
  for (const [input, problem] of table) {
    const error = configError(() => parseAllowlist(input as AllowlistEntry[]))
    t.equal(error.setting, 'origins')
    t.match(error.message, problem)
    t.match(error.fix, 'pass an array')
  }
})

t.test('"*" mixed with other entries is refused', async (t) => {
  const error = configError(() => parseAllowlist(['*', 'https://a.example']))
  t.equal(error.setting, 'origins')
  t.match(error.message, 'mixed')
  t.match(error.fix, '"*" alone')
})

t.test('no origin at all is refused with how to set them', async (t) => {
  for (const input of ['', ' , ', []]) {
    const error = configError(() => parseAllowlist(input))
    t.equal(error.setting, 'origins')
    t.match(error.message, 'no origin is configured')
    t.match(error.fix, 'origins:')
    t.match(error.fix, 'CORS_ORIGINS=')
  }
})

t.test('a wildcard on a public suffix is marked with it, after normalization', async (t) => {
  t.same(normalizeEntry('HTTPS://*.GitHub.IO'), { text: 'https://*.github.io', scheme: 'https', publicSuffix: 'github.io' })
  t.same(normalizeEntry('https://*.co.uk:8443'), { text: 'https://*.co.uk:8443', scheme: 'https', publicSuffix: 'co.uk' })
  t.same(normalizeEntry('https://*.example.co.uk'), { text: 'https://*.example.co.uk', scheme: 'https' })
})

t.test('a RegExp that pins no domain is marked with two reserved-name origins it admits', async (t) => {
  const [loose, pinned] = parseAllowlist([/https?:\/\/.+/, /https:\/\/pr-\d+\.example\.com/]).patterns
  t.same(loose.admitsAnyDomain, ['https://a.invalid', 'https://a.test'])
  t.equal(pinned.admitsAnyDomain, undefined)
})

t.test('property: a RegExp for one escaped domain, with or without a port, never counts as admitting any domain', async (t) => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/)
  fc.assert(fc.property(fc.array(label, { minLength: 2, maxLength: 4 }), fc.boolean(), fc.constantFrom('https?', 'https', 'http'),
    (labels, port, scheme) => {
      const host = labels.join('\\.')
      const [pattern] = parseAllowlist([new RegExp(`${scheme}:\\/\\/([a-z0-9-]+\\.)?${host}${port ? '(:\\d+)?' : ''}`)]).patterns
      return pattern.admitsAnyDomain === undefined
    }))
  t.pass('no single-domain RegExp was flagged')
})

t.test('property: a RegExp whose host part is any run of host characters admits any domain', async (t) => {
  fc.assert(fc.property(fc.constantFrom('[a-z0-9.-]+', '[^/]+', '.+', '[\\w.-]+', '\\S+'), fc.constantFrom('https?', '(http|https)'), fc.boolean(),
    (hostPart, scheme, port) => {
      const [pattern] = parseAllowlist([new RegExp(`${scheme}:\\/\\/${hostPart}${port ? '(:\\d+)?' : ''}`)]).patterns
      return pattern.admitsAnyDomain !== undefined
    }))
  t.pass('every generic-host RegExp was flagged')
})

t.test('an exact entry longer than any origin can be is a config error, since it could never match', async (t) => {
  const host = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.example`
  t.throws(() => parseAllowlist([`https://${host}:65535`]), { name: 'CorsConfigError', message: /more than any origin can be \(267\)/ })
  t.equal(parseAllowlist([`https://${'a'.repeat(63)}.example`]).exact.size, 1)
})

t.test('a RegExp with nested quantifiers is refused, credentials or not, naming the entry, the cause and a fix', async (t) => {
  for (const pattern of [/https:\/\/(\w+\.?)+\.example\.com/, /https:\/\/([a-z0-9]+-?)+\.preview\.example\.com/, /https:\/\/([a-z0-9-]+\.)*example\.com/,
    /https:\/\/((\w+)?\.)+example\.com/, /https:\/\/(?<=x)a\.example\.com/]) {
    const error = configError(() => parseAllowlist([pattern]))
    t.equal(error.setting, `origins entry ${String(pattern)}`, String(pattern))
    t.match(error.message, 'nested quantifiers')
    t.match(error.message, 'one request with a crafted Origin could stall the server')
    t.match(error.fix, '/https:\\/\\/[a-z0-9.-]+\\.example\\.com/')
  }
  const [fix] = parseAllowlist([/https:\/\/[a-z0-9.-]+\.example\.com/]).patterns
  t.ok(fix.anchored.test('https://a.b.example.com'), 'the suggested fix is accepted and matches subdomains')
})

t.test('an optional group is not a repetition: (:\\d+)? and its kin are accepted', async (t) => {
  const accepted = [/https:\/\/a\.example\.com(:\d+)?/, /https:\/\/a\.example\.com(?::\d+)??/, /https:\/\/([a-z]+\.)?example\.com/,
    /https:\/\/[a-z)]+\.example\.com\)?/, /https:\/\/a\.example\.com\(x+\)?/]
  t.equal(parseAllowlist(accepted).patterns.length, accepted.length)
  t.throws(() => parseAllowlist([/https:\/\/[)]?(a+)+\.example\.com/]), { message: /nested quantifiers/ }, 'a ")" in a class ends no group')
})

t.test('a RegExp entry keeps its source as text to find domain names in', async (t) => {
  // eslint-disable-next-line no-useless-escape -- users write `\-` in host names, and it must read as `-`
  const [pattern] = parseAllowlist([/https:\/\/App\.Example\-X\.com\/?\\./i]).patterns
  t.equal(pattern.literal, 'https://app.example-x.com/?\\\\.')
})

t.test('a RegExp for public names that writes out no registrable domain is marked with an origin it matches', async (t) => {
  const [unnamed, localhost, loopback, test, named] = parseAllowlist([/https:\/\/\w+\.com/, /http:\/\/localhost:\d+/, /http:\/\/127\.0\.0\.1:\d+/,
    /https?:\/\/[a-z0-9-]+\.test(:\d+)?/, /https:\/\/pr-\d+\.preview\.example\.com/]).patterns
  t.equal(unnamed.namesNoDomain, 'https://a.com')
  for (const pattern of [localhost, loopback, test, named]) t.equal(pattern.namesNoDomain, undefined, pattern.text)
  t.equal(parseAllowlist([/https:\/\/[a-z]+\.test|https:\/\/[a-z]+\.org/]).patterns[0].namesNoDomain, 'https://a.org', 'a reserved name is no registrable domain')
})
