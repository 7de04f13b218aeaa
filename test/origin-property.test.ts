// Property tests: the origin decision against a slow, obviously correct reference written from the
// documented semantics (docs/options.md "Origin entries") with the WHATWG URL parser. FC_SEED=<n>
// replays a run; on a failure fast-check prints the seed and the shrunk counterexample.
import { BlockList } from 'node:net'
import { validateHeaderValue } from 'node:http'
import t from 'tap'
import fc from 'fast-check'
import { getDomain, getPublicSuffix } from 'tldts'
import { parseAllowlist, type AllowlistEntry } from '../lib/allowlist.js'
import { refuseEntriesAnySiteCanUse } from '../lib/config.js'
import { MAX_ORIGIN_LENGTH, OriginMatcher, type OriginDecision } from '../lib/origin-matcher.js'
import { createOriginPolicy } from '../lib/origin-policy.js'
import { raw, startApp } from './helpers/realtime.js'

// One seed for every property and for the sampled allowlists, so FC_SEED replays the whole file.
const seed = process.env.FC_SEED === undefined || process.env.FC_SEED === '' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FC_SEED)
const params = (numRuns: number): { seed: number, numRuns: number, includeErrorInReport: true } => ({ seed, numRuns, includeErrorInReport: true })
t.comment(`fast-check seed ${seed} (replay with FC_SEED=${seed})`)

// ---------------------------------------------------------------------------------------------
// Allowlists: every entry kind, with the forms parseAllowlist normalizes (case, IDN, default port)

/** One generated entry, plus origins built to match it (so the allowed side is exercised). */
interface EntrySpec {
  readonly entry: AllowlistEntry
  /** Origins a browser could send that this entry should admit (or nearly: mutations follow). */
  readonly near: readonly string[]
}

const LABEL = fc.constantFrom('a', 'b', 'app', 'api', 'x-1', '0', '9', 'Ab', 'bücher', 'xn--bcher-kva')
const TLD = fc.constantFrom('example', 'test', 'org')
const SCHEME = fc.constantFrom('http', 'https')
const PORT = fc.constantFrom(undefined, undefined, 80, 443, 3000, 8443)
const portText = (port: number | undefined): string => (port === undefined ? '' : `:${port}`)
const domain = (labels: readonly string[], tld: string): string => [...labels, tld].join('.')
/** Prefix labels of a wildcard match: valid ones mostly, hostile ones sometimes. */
const PREFIX_LABEL = fc.oneof({ weight: 6, arbitrary: LABEL }, { weight: 1, arbitrary: fc.constantFrom('', 'a_b', 'xn--zz', 'A', '-', 'a b') })

const exactEntry: fc.Arbitrary<EntrySpec> = fc.oneof(
  fc.tuple(SCHEME, fc.array(LABEL, { minLength: 1, maxLength: 3 }), TLD, PORT, fc.boolean()).map(([scheme, labels, tld, port, upper]) => {
    const text = `${upper ? scheme.toUpperCase() : scheme}://${domain(labels, tld)}${portText(port)}`
    return { entry: text, near: [new URL(text).origin, text] }
  }),
  fc.tuple(SCHEME, fc.constantFrom('127.0.0.1', '[::1]', '[0:0::1]', 'localhost'), PORT).map(([scheme, host, port]) => {
    const text = `${scheme}://${host}${portText(port)}`
    return { entry: text, near: [new URL(text).origin, text] }
  })
)

const wildcardEntry: fc.Arbitrary<EntrySpec> = fc.tuple(
  SCHEME, fc.array(LABEL, { minLength: 1, maxLength: 2 }), TLD, PORT, fc.array(fc.array(PREFIX_LABEL, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 })
).map(([scheme, labels, tld, port, prefixes]) => {
  const suffix = domain(labels, tld)
  const entry = `${scheme}://*.${suffix}${portText(port)}`
  const host = new URL(`${scheme}://placeholder.${suffix}${portText(port)}`).host.slice('placeholder.'.length)
  // One origin it must admit, the generated ones, and the apex, which a wildcard never admits.
  return { entry, near: [`${scheme}://app.${host}`, ...prefixes.map((prefix) => `${scheme}://${prefix.join('.')}.${host}`), `${scheme}://${host}`] }
})

/** A piece of a RegExp source and an arbitrary of strings it matches. */
interface Piece { readonly source: string, readonly sample: fc.Arbitrary<string> }
const piece = (source: string, sample: fc.Arbitrary<string>): Piece => ({ source, sample })
const literal = (text: string): Piece => piece(text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), fc.constant(text))
const sequence = (pieces: readonly Piece[]): Piece =>
  piece(pieces.map((p) => p.source).join(''), fc.tuple(...pieces.map((p) => p.sample)).map((parts) => parts.join('')))
const WORD = fc.constantFrom('a', 'pr-1', 'app', '0', 'x.y', '', 'a..b', 'A')

const schemePiece = fc.constantFrom(
  literal('https://'), literal('http://'),
  piece('https?:\\/\\/', fc.constantFrom('http://', 'https://')),
  piece('[a-z]+:\\/\\/', fc.constantFrom('http://', 'https://', 'ftp://', 'ws://'))
)
const hostPiece = fc.tuple(
  fc.constantFrom(
    piece('[a-z0-9-]+', WORD), piece('[a-z]+', WORD), piece('\\d+', fc.constantFrom('1', '42', '007')),
    piece('[a-z0-9.-]+', WORD), piece('(?:[a-z0-9-]+\\.)?[a-z0-9-]+', WORD), piece('', fc.constant(''))
  ),
  fc.array(LABEL, { minLength: 0, maxLength: 2 }), TLD
).map(([head, labels, tld]) => {
  const rest = literal(`.${domain(labels, tld)}`.toLowerCase())
  return head.source === '' ? literal(domain(labels, tld).toLowerCase()) : sequence([head, rest])
})
const portPiece = fc.constantFrom(
  piece('', fc.constant('')), literal(':8443'),
  piece('(?::\\d+)?', fc.constantFrom('', ':8443', ':443', ':0', ':65535', ':65536', ':99999', ':08443')),
  piece(':\\d{1,5}', fc.constantFrom(':1', ':80', ':0', ':99999'))
)
const trailingDot = fc.constantFrom(piece('', fc.constant('')), piece('\\.?', fc.constantFrom('', '.')))
const onePattern = fc.tuple(schemePiece, hostPiece, trailingDot, portPiece).map((pieces) => sequence(pieces))

const patternEntry: fc.Arbitrary<EntrySpec> = fc.tuple(
  fc.oneof({ weight: 3, arbitrary: onePattern.map((p) => [p]) }, { weight: 1, arbitrary: fc.tuple(onePattern, onePattern) }),
  fc.constantFrom('', 'i')
).chain(([alternatives, flags]) => {
  const source = alternatives.map((p) => p.source).join('|')
  return fc.array(fc.oneof(...alternatives.map((p) => p.sample)), { minLength: 1, maxLength: 3 })
    .map((near) => ({ entry: new RegExp(source, flags), near }))
})

/**
 * Entries whose match reaches origins on someone else's registrable domain: a wildcard above a
 * public suffix (s3.amazonaws.com is one), RegExps with an unescaped dot, an unanchored name, a
 * trailing `.*`; and one that names a domain inside a longer one.
 */
const foreignEntry: fc.Arbitrary<EntrySpec> = fc.constantFrom<EntrySpec>(
  { entry: 'https://*.amazonaws.com', near: ['https://a.amazonaws.com', 'https://bucket.s3.amazonaws.com', 'https://x.execute-api.us-east-1.amazonaws.com'] },
  { entry: /https:\/\/app.example.org/, near: ['https://app.example.org', 'https://appxexample.org'] },
  { entry: /https:\/\/.*example\.org/, near: ['https://a.example.org', 'https://evilexample.org', 'https://example.org'] },
  { entry: /https:\/\/.*\.example\.org.*/, near: ['https://a.example.org', 'https://a.example.org.evil.org', 'https://a.example.org:8443'] },
  { entry: /https:\/\/[a-z]*example\.org|https:\/\/a\.myevilexample\.org/, near: ['https://example.org', 'https://evilexample.org', 'https://a.myevilexample.org'] }
)

interface ListSpec { readonly entries: readonly EntrySpec[], readonly any: boolean }
const allowlistSpec: fc.Arbitrary<ListSpec> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ entries: [{ entry: '*', near: ['https://a.example', 'null'] }], any: true }) },
  {
    weight: 12,
    arbitrary: fc.array(fc.oneof(exactEntry, wildcardEntry, patternEntry, foreignEntry), { minLength: 1, maxLength: 5 }).map((entries) => ({ entries, any: false }))
  }
)

// ---------------------------------------------------------------------------------------------
// The reference: slow and direct, from the documented semantics

const LABELS = /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/

/**
 * The entries (as `decision.entry` names them) that admit `origin`. An Origin is allowed iff the
 * list is `*`, or: it is at most MAX_ORIGIN_LENGTH long, it is an http(s) origin exactly as the URL
 * parser serializes it, and it equals an exact entry's origin, or is a wildcard's scheme and port with
 * one or more [a-z0-9-] labels before the suffix and no public suffix between them and the wildcard's
 * domain, or fully matches a RegExp whose source writes out the host's registrable domain (unless
 * nobody can register the host: an IP address, one label, a reserved top-level domain).
 * The Public Suffix List comes from tldts, as in the library: acceptable for a reference, since the
 * list is data, not the logic under test.
 */
function reference (list: ListSpec, origin: string): Set<string> {
  if (list.any) return new Set(['*'])
  const admitted = new Set<string>()
  if (origin.length > MAX_ORIGIN_LENGTH) return admitted
  let url: URL
  try {
    url = new URL(origin) // not URL.canParse: Node 20 answers it wrongly for Latin-1 text once optimized
  } catch {
    return admitted
  }
  if (url.origin !== origin || (url.protocol !== 'http:' && url.protocol !== 'https:')) return admitted
  for (const { entry } of list.entries) {
    if (entry instanceof RegExp) {
      if (new RegExp(`^(?:${entry.source})$`, entry.flags).test(origin) && namesHostDomain(entry, url.hostname)) admitted.add(String(entry))
    } else if (entry.includes('*')) {
      const [scheme, rest] = entry.split('://*.') as [string, string]
      const base = new URL(`${scheme}://placeholder.${rest}`)
      const suffix = base.hostname.slice('placeholder'.length)
      const text = `${base.protocol}//*${base.host.slice('placeholder'.length)}`
      const publicSuffix = getPublicSuffix(url.hostname, { allowPrivateDomains: true }) ?? ''
      if (url.protocol === base.protocol && url.port === base.port && url.hostname.endsWith(suffix) &&
        LABELS.test(url.hostname.slice(0, -suffix.length)) && `.${publicSuffix}`.length > 1 && suffix.endsWith(`.${publicSuffix}`)) admitted.add(text)
    } else if (new URL(entry).origin === origin) {
      admitted.add(origin)
    }
  }
  return admitted
}

/** Whether `host` needs no naming, or `pattern`'s source writes its registrable domain out as a whole name. */
/** Loopback, private and link-local networks, through Node's own address matching. */
const LOCAL_ADDRESSES = new BlockList()
for (const [network, prefix] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['169.254.0.0', 16], ['0.0.0.0', 32]] as const) LOCAL_ADDRESSES.addSubnet(network, prefix, 'ipv4')
for (const [network, prefix] of [['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) LOCAL_ADDRESSES.addSubnet(network, prefix, 'ipv6')

function namesHostDomain (pattern: RegExp, host: string): boolean {
  const bare = host.replace(/\.$/, '')
  const labels = bare.split('.')
  const address = host.startsWith('[') ? host.slice(1, -1) : labels.every((label) => /^\d+$/.test(label)) ? bare : undefined
  if (address !== undefined && LOCAL_ADDRESSES.check(address, address.includes(':') ? 'ipv6' : 'ipv4')) return true
  if (address === undefined && (labels.length === 1 || ['example', 'invalid', 'localhost', 'test'].includes(labels[labels.length - 1]))) return true
  const domain = address ?? getDomain(bare, { allowPrivateDomains: true }) ?? bare
  const text = pattern.source.replace(/\\([./-])/g, '$1').toLowerCase()
  return new RegExp(`(?:^|[^a-z0-9_\\\\-])${domain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?!\\.?[a-z0-9_-])`).test(text)
}

// ---------------------------------------------------------------------------------------------
// Hostile Origins: mutations of the entries' own origins, and random strings

type Mutation = (origin: string) => string
const hostEnd = (o: string): number => {
  const start = o.indexOf('://') + 3
  const end = o.slice(start).search(/[:/?#]/)
  return end === -1 ? o.length : start + end
}
const atHostEnd = (o: string, text: string): string => o.slice(0, hostEnd(o)) + text + o.slice(hostEnd(o))
const MUTATIONS: readonly Mutation[] = [
  (o) => o.toUpperCase(),
  (o) => o.replace(/[a-z](?=[^/]*$)/, (c) => c.toUpperCase()),
  (o) => `${o}:443`, (o) => `${o}:80`, (o) => `${o}:8443`, (o) => `${o}:0443`, (o) => `${o}:65536`, (o) => `${o}:0`, (o) => `${o}:`,
  (o) => atHostEnd(o, '.'), (o) => o.replace('.', '..'), (o) => o.replace('://', '://.'),
  (o) => o.replace('://', `://${'a.'.repeat(130)}`), (o) => o.replace('://', `://${'x'.repeat(300)}.`),
  (o) => o.replace('xn--bcher-kva', 'bücher'), (o) => o.replace('bücher', 'xn--bcher-kva'),
  (o) => o.replace('://', '://user@'), (o) => o.replace('://', '://user:pw@'),
  (o) => `${o}/`, (o) => `${o}/path`, (o) => `${o}?`, (o) => `${o}?q=1`, (o) => `${o}#`, (o) => `${o}#f`,
  (o) => `${o}, https://evil.example`, (o) => `https://evil.example, ${o}`, (o) => `${o},${o}`,
  (o) => ` ${o}`, (o) => `${o} `, (o) => `${o}\t`, (o) => o.replace('://', ':// '),
  (o) => o.replace(/^https:/, 'http:'), (o) => o.replace(/^http:/, 'https:'), (o) => o.replace(/^https?:/, 'ws:'),
  (o) => `${o}.evil.example`, (o) => o.replace('://', '://evil'), (o) => o.replace('://', '://evil.'),
  () => 'null', () => '', (o) => `${o}\r\nx: y`
]
const mutated = (near: readonly string[]): fc.Arbitrary<string> =>
  fc.tuple(fc.constantFrom(...near), fc.array(fc.constantFrom(...MUTATIONS), { maxLength: 2 }))
    .map(([origin, mutations]) => mutations.reduce((o, mutate) => mutate(o), origin))

const randomOrigin: fc.Arbitrary<string> = fc.oneof(
  fc.string(), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.webUrl(),
  fc.webUrl().map((u) => new URL(u).origin),
  fc.constantFrom('null', '', '*', 'https://', 'http://[::1]', 'chrome-extension://abcdef', 'https://a.example')
)

/** Origins for one allowlist: mostly built from its entries, so that many are allowed. */
function originsFor (list: ListSpec): fc.Arbitrary<string> {
  const near = list.entries.flatMap((entry) => entry.near)
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...near) }, { weight: 5, arbitrary: mutated(near) }, { weight: 2, arbitrary: randomOrigin })
}

const caseArb = allowlistSpec.chain((list) => fc.tuple(fc.constant(list), fc.array(originsFor(list), { minLength: 1, maxLength: 12 })))

function matcherFor (list: ListSpec, cacheSize: number): OriginMatcher {
  return new OriginMatcher(parseAllowlist(list.entries.map((entry) => entry.entry)), cacheSize)
}

function check (list: ListSpec, origin: string, decision: OriginDecision): void {
  const admitted = reference(list, origin)
  if (decision.allowed !== (admitted.size > 0)) {
    throw new Error(`${JSON.stringify(origin)}: decided ${JSON.stringify(decision)}, the reference admits [${[...admitted].join(', ')}]`)
  }
  if (decision.allowed && !admitted.has(decision.entry)) {
    throw new Error(`${JSON.stringify(origin)}: allowed by ${decision.entry}, which the reference does not accept (it accepts ${[...admitted].join(', ')})`)
  }
}

// ---------------------------------------------------------------------------------------------

t.test('the matcher decides every origin as the reference does, and names an entry the reference accepts', async (t) => {
  let decided = 0
  let allowed = 0
  fc.assert(fc.property(caseArb, ([list, origins]) => {
    const matcher = matcherFor(list, 1000)
    for (const origin of origins) {
      const decision = matcher.decide(origin)
      check(list, origin, decision)
      decided++
      if (decision.allowed) allowed++
    }
  }), params(800))
  t.ok(allowed / decided > 0.2, `${allowed} of ${decided} generated origins allowed: the allowed side is exercised`)
  t.ok(allowed / decided < 0.8, `${decided - allowed} of ${decided} generated origins refused: the refused side is exercised`)
})

t.test('createOriginPolicy decides as the reference does', async () => {
  fc.assert(fc.property(caseArb, ([list, origins]) => {
    const policy = createOriginPolicy({ origins: list.entries.map((entry) => entry.entry) }, {})
    for (const origin of origins) check(list, origin, policy.decide(origin))
  }), params(300))
})

t.test('the decision cache never changes a decision, with repeats and evictions', async () => {
  const withRepeats = caseArb.chain(([list, origins]) =>
    fc.tuple(fc.constant(list), fc.array(fc.constantFrom(...origins), { minLength: 1, maxLength: 40 })))
  fc.assert(fc.property(withRepeats, ([list, origins]) => {
    const uncached = matcherFor(list, 0)
    const cached = matcherFor(list, 1000)
    const tiny = matcherFor(list, 2)
    for (const origin of origins) {
      const expected = uncached.decide(origin)
      for (const other of [cached, tiny]) {
        const decision = other.decide(origin)
        if (JSON.stringify(decision) !== JSON.stringify(expected)) {
          throw new Error(`${JSON.stringify(origin)}: ${JSON.stringify(decision)} with a cache of ${other.cacheLimit}, ${JSON.stringify(expected)} without`)
        }
      }
    }
    if (uncached.cacheSize !== 0 || tiny.cacheSize > 2) throw new Error('a decision cache outgrew its limit')
  }), params(300))
})

/**
 * What can be sent as a header on the wire: Node's http client refuses values with CR, LF, NUL or
 * characters above U+00FF (ERR_INVALID_CHAR, its `validateHeaderValue`), and the server's parser
 * strips leading and trailing spaces and tabs (RFC 9110 §5.5), so those would be decided as another
 * value. Values over a few hundred characters are covered above; the server's header limit is not
 * the subject here.
 */
function sendable (origin: string): boolean {
  if (origin === '' || origin !== origin.replace(/^[ \t]+|[ \t]+$/g, '') || origin.length > 2000) return false
  try {
    validateHeaderValue('origin', origin)
    return true
  } catch {
    return false
  }
}

t.test('the HTTP hook and the engine.io gate decide each origin as the reference does', async (t) => {
  // Lists with an exact or wildcard entry, whose first `near` origin is one a browser sends: so
  // the allowed side is always exercised here.
  // And lists the realtime plugin accepts: it refuses entries any site can use (refuseEntriesAnySiteCanUse).
  const accepted = (list: ListSpec): boolean => {
    try {
      refuseEntriesAnySiteCanUse(parseAllowlist(list.entries.map((entry) => entry.entry)), 'here')
      return true
    } catch {
      return false
    }
  }
  const lists = fc.sample(allowlistSpec.filter((list) => list.entries.some((entry) => typeof entry.entry === 'string' && entry.entry !== '*') && accepted(list)), { seed, numRuns: 2 })
  for (const list of lists) {
    const origins = list.entries.map((entry) => entry.entry)
    const { app, url } = await startApp(t, {
      cors: { origins, credentials: false },
      after: (app) => { app.get('/route', async () => 'ok') }
    })
    let allowed = 0
    const sameOnTheWire = async (origin: string): Promise<void> => {
      const admitted = reference(list, origin).size > 0
      if (admitted) allowed++
      const response = await app.inject({ method: 'GET', url: '/route', headers: { origin } })
      const acao = response.headers['access-control-allow-origin']
      if ((response.statusCode === 403) === admitted || (acao === origin) !== admitted) {
        throw new Error(`route: ${JSON.stringify(origin)} got ${response.statusCode} with ACAO ${String(acao)}; the reference ${admitted ? 'admits' : 'refuses'} it`)
      }
      const handshake = await raw(`${url()}?EIO=4&transport=polling`, { headers: { origin } })
      const opened = handshake.status === 200 && /^0\{"sid":"[^"]+"/.test(handshake.body)
      if (admitted ? !opened : handshake.status !== 403) {
        throw new Error(`handshake: ${JSON.stringify(origin)} got ${handshake.status} ${handshake.body.slice(0, 80)}; the reference ${admitted ? 'admits' : 'refuses'} it`)
      }
    }
    for (const origin of list.entries.flatMap((entry) => entry.near).filter(sendable)) await sameOnTheWire(origin)
    await fc.assert(fc.asyncProperty(originsFor(list).filter(sendable), sameOnTheWire), params(20))
    t.ok(allowed > 0, `${allowed} of the origins tried for [${origins.map(String).join(', ')}] were allowed`)
  }
})
