import { join } from 'node:path'
import t from 'tap'
import { runCli, runCliJson } from './helpers/cli.js'

interface Finding { plugin: string, severity: string, message: string, setting?: string, fix?: string }
interface CheckJson { ok: boolean, exitCode: number, config: null | { allowlist: { exact: string[], wildcards: Array<{ text: string }>, patterns: string[] } }, findings: Finding[] }

const LONG_HOST = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}.example`

/**
 * One case per kind of CorsConfigError that start-up (corsPolicy, realtime's origin rules) and the check
 * file can raise: the flags or file that provoke it, the setting the error names and a piece of its rule.
 */
const ERROR_CASES: Array<{ name: string, args?: string[], env?: Record<string, string>, file?: unknown, setting: string, problem: RegExp, fix: RegExp }> = [
  { name: 'no origin configured', args: [], setting: 'origins', problem: /no origin is configured/, fix: /CORS_ORIGINS=/ },
  { name: 'origins neither string nor array', file: { corsPolicy: { origins: 5 } }, setting: 'origins', problem: /not a string or an array/, fix: /pass an array/ },
  { name: 'an entry of another type', file: { corsPolicy: { origins: [5] } }, setting: 'origins', problem: /entry 5 is a number/, fix: /as a string/ },
  { name: '"*" mixed with entries', args: ['--origins', '*,https://a.example'], setting: 'origins', problem: /mixed with other entries/, fix: /alone/ },
  { name: 'an empty entry', file: { corsPolicy: { origins: [''] } }, setting: 'origins', problem: /an entry is empty/, fix: /remove it/ },
  { name: 'the null origin', args: ['--origins', 'null'], setting: 'origins entry "null"', problem: /sandboxed iframes/, fix: /real origin/ },
  { name: 'whitespace in an entry', file: { corsPolicy: { origins: ['https://a .example'] } }, setting: 'origins entry "https://a .example"', problem: /whitespace/, fix: /commas/ },
  { name: 'no scheme', args: ['--origins', 'app.example'], setting: 'origins entry "app.example"', problem: /has no scheme/, fix: /"https:\/\/app\.example"/ },
  { name: 'a scheme other than http(s)', args: ['--origins', 'ftp://a.example'], setting: 'origins entry "ftp://a.example"', problem: /is not http or https/, fix: /http\(s\) origin/ },
  { name: 'a trailing slash', args: ['--origins', 'https://a.example/'], setting: 'origins entry "https://a.example/"', problem: /trailing slash/, fix: /"https:\/\/a\.example"/ },
  { name: 'a path', args: ['--origins', 'https://a.example/app'], setting: 'origins entry "https://a.example/app"', problem: /has a path/, fix: /"https:\/\/a\.example"/ },
  { name: 'a query', args: ['--origins', 'https://a.example?x'], setting: 'origins entry "https://a.example?x"', problem: /has a query/, fix: /"https:\/\/a\.example"/ },
  { name: 'a fragment', args: ['--origins', 'https://a.example#x'], setting: 'origins entry "https://a.example#x"', problem: /has a fragment/, fix: /"https:\/\/a\.example"/ },
  { name: 'user information', args: ['--origins', 'https://me@a.example'], setting: 'origins entry "https://me@a.example"', problem: /user information/, fix: /"https:\/\/a\.example"/ },
  { name: 'a malformed wildcard', args: ['--origins', 'https://a*.example.com'], setting: 'origins entry "https://a*.example.com"', problem: /malformed wildcard/, fix: /whole labels/ },
  { name: 'a wildcard with an empty label', args: ['--origins', 'https://*.example..com'], setting: 'origins entry "https://*.example..com"', problem: /empty label/, fix: /whole labels/ },
  { name: 'a wildcard over a top-level domain', args: ['--origins', 'https://*.com'], setting: 'origins entry "https://*.com"', problem: /top-level domain/, fix: /whole labels/ },
  { name: 'an invalid host', args: ['--origins', 'https://exa%mple.com'], setting: 'origins entry "https://exa%mple.com"', problem: /not a valid host/, fix: /scheme:\/\/host\[:port\]/ },
  { name: 'an over-long entry', args: ['--origins', `https://${LONG_HOST}`], setting: `origins entry "https://${LONG_HOST}"`, problem: /characters long/, fix: /253 characters/ },
  { name: 'a RegExp with the g flag', args: ['--origins', '/https:\\/\\/a\\.example/g'], setting: 'origins entry /https:\\/\\/a\\.example/g', problem: /the g or y flag/, fix: /drop the flag/ },
  { name: 'a RegExp with nested quantifiers', args: ['--origins', '/https:\\/\\/(\\w+\\.?)+\\.example\\.com/'], setting: 'origins entry /https:\\/\\/(\\w+\\.?)+\\.example\\.com/', problem: /nested quantifiers/, fix: /character class/ },
  { name: 'an invalid RegExp', args: ['--origins', '/https:\\/\\/(a/'], setting: 'origins entry /https:\\/\\/(a/', problem: /not a valid RegExp/, fix: /fix the pattern/ },
  { name: 'an unknown option', file: { corsPolicy: { orgins: ['https://a.example'] } }, setting: 'orgins', problem: /not an option of corsPolicy/, fix: /`origins`/ },
  { name: 'credentials not a boolean', file: { corsPolicy: { origins: ['https://a.example'], credentials: 'yes' } }, setting: 'credentials', problem: /"yes" is not a boolean/, fix: /true or false/ },
  { name: 'privateNetwork not a boolean', file: { corsPolicy: { origins: ['https://a.example'], privateNetwork: 1 } }, setting: 'privateNetwork', problem: /1 is not a boolean/, fix: /true or false/ },
  { name: 'CORS_CREDENTIALS not a boolean', args: ['--origins', 'https://a.example'], env: { CORS_CREDENTIALS: 'yes' }, setting: 'CORS_CREDENTIALS', problem: /"yes" is not a boolean/, fix: /CORS_CREDENTIALS=true/ },
  { name: 'CORS_MAX_AGE not a number', args: ['--origins', 'https://a.example'], env: { CORS_MAX_AGE: '10m' }, setting: 'CORS_MAX_AGE', problem: /not a whole number/, fix: /CORS_MAX_AGE=600/ },
  { name: 'maxAge out of range', args: ['--origins', 'https://a.example', '--max-age', '90000'], setting: 'maxAge', problem: /90000 is not a whole number of seconds from 0 to 86400/, fix: /600/ },
  { name: 'an unknown refusal mode', args: ['--origins', 'https://a.example', '--refusal', 'drop'], setting: 'refusal', problem: /"drop" is not a refusal mode/, fix: /omit-headers/ },
  { name: 'a negative decision cache size', args: ['--origins', 'https://a.example', '--decision-cache-size=-1'], setting: 'decisionCacheSize', problem: /-1 is not a whole number/, fix: /1000/ },
  { name: 'a token list of another type', file: { corsPolicy: { origins: ['https://a.example'], methods: 5 } }, setting: 'methods', problem: /neither a string nor an array/, fix: /'GET'/ },
  { name: 'a header name that is no HTTP token', args: ['--origins', 'https://a.example', '--allowed-headers', 'X:A'], setting: 'allowedHeaders', problem: /"X:A" is not an HTTP token/, fix: /X-Request-Id/ },
  { name: '"*" in a list with credentials', args: ['--origins', 'https://a.example', '--credentials', '--exposed-headers', '*'], setting: 'exposedHeaders', problem: /only a wildcard without credentials/, fix: /explicitly/ },
  { name: 'a Cache-Control value with a control character', file: { corsPolicy: { origins: ['https://a.example'], cacheControl: 'max-age=1\u0007, public' } }, setting: 'cacheControl', problem: /contains U\+0007 at index 9/, fix: /max-age=600/ },
  { name: 'a Cache-Control value of another type', file: { corsPolicy: { origins: ['https://a.example'], cacheControl: -1 } }, setting: 'cacheControl', problem: /neither seconds nor a header value/, fix: /600/ },
  { name: '"*" with credentials', args: ['--origins', '*', '--credentials'], setting: 'origins', problem: /"\*" with credentials/, fix: /turn credentials off/ },
  { name: 'a RegExp admitting any domain, with credentials', args: ['--origins', '/https:\\/\\/.+/', '--credentials'], setting: 'origins entry /https:\\/\\/.+/', problem: /admits origins on any domain/, fix: /pin the host/ },
  { name: 'a RegExp naming no domain, with credentials', args: ['--origins', '/https:\\/\\/[a-z]+\\.com/', '--credentials'], setting: 'origins entry /https:\\/\\/[a-z]+\\.com/', problem: /writes out no registrable domain/, fix: /escaped dots/ },
  { name: 'a wildcard on a public suffix, with credentials', args: ['--origins', 'https://*.github.io', '--credentials'], setting: 'origins entry "https://*.github.io"', problem: /public suffix github\.io/, fix: /\*\.yourname\.github\.io/ },
  { name: 'realtime with "*" and no allowAnyOrigin', args: ['--origins', '*', '--realtime'], setting: 'origins', problem: /"\*" with the realtime plugin/, fix: /allowAnyOrigin: true/ },
  { name: 'allowAnyOrigin without "*"', args: ['--origins', 'https://a.example', '--allow-any-origin'], setting: 'allowAnyOrigin', problem: /origins of corsPolicy are not "\*"/, fix: /remove allowAnyOrigin/ },
  { name: 'a wildcard on a public suffix, with realtime', args: ['--origins', 'https://*.github.io', '--realtime'], setting: 'origins entry "https://*.github.io"', problem: /with the realtime plugin/, fix: /yourname/ },
  { name: 'a check file that is no JSON', file: '{ origins: [', setting: 'FILE', problem: /is not JSON/, fix: /corsPolicy/ },
  { name: 'a check file that is no object', file: [], setting: 'FILE', problem: /is \[\], not an object/, fix: /an object/ },
  { name: 'an unknown section of a check file', file: { corsPolicies: {} }, setting: 'FILE: corsPolicies', problem: /not a section/, fix: /`corsPolicy`/ },
  { name: 'a realtime option check cannot judge', file: { corsPolicy: { origins: ['https://a.example'] }, realtime: { authenticate: true } }, setting: 'FILE: realtime.authenticate', problem: /not an origin option of realtime/, fix: /allowAnyOrigin/ },
  { name: 'allowAnyOrigin not a boolean', file: { corsPolicy: { origins: ['*'] }, realtime: { allowAnyOrigin: 'yes' } }, setting: 'allowAnyOrigin', problem: /"yes" is not a boolean/, fix: /true or false/ },
  { name: 'an unreadable check file', args: ['--config', '/nonexistent/check.json'], setting: '/nonexistent/check.json', problem: /cannot be read \(ENOENT\)/, fix: /JSON check file/ }
]

/** Runs `fn` over `items`, four processes at a time: the machine has two cores and other tests run too. */
async function inBatches<T> (items: readonly T[], fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < items.length) {
      const index = next++
      await fn(items[index], index)
    }
  }))
}

t.test('check exits 2 with the error, its setting and its fix, for every kind of configuration error', async (t) => {
  const dir = t.testdir(Object.fromEntries(ERROR_CASES.flatMap((c, i) => c.file === undefined ? [] : [[`case-${i}.json`, typeof c.file === 'string' ? c.file : JSON.stringify(c.file)]])))
  await inBatches(ERROR_CASES, async (c, i) => {
    const file = join(dir, `case-${i}.json`)
    const args = ['check', ...(c.args ?? []), ...(c.file === undefined ? [] : ['--config', file])]
    const { code, json } = await runCliJson<CheckJson>(args, c.env)
    t.equal(code, 2, `${c.name}: exit code 2`)
    t.equal(json.ok, false, `${c.name}: not ok`)
    t.equal(json.config, null, `${c.name}: no configuration`)
    const errors = json.findings.filter((finding) => finding.severity === 'error')
    t.equal(errors.length, 1, `${c.name}: one error (start-up stops at the first)`)
    const finding = json.findings.at(-1)
    t.equal(finding?.severity, 'error', `${c.name}: the error comes last, after the warnings logged before it`)
    t.equal(finding?.setting, c.setting.replace('FILE', file), `${c.name}: names the setting`)
    t.match(finding?.message, c.problem, `${c.name}: states the rule`)
    t.match(finding?.fix, c.fix, `${c.name}: gives the fix`)
  })
})

t.test('check prints the allowlist and settings, and exits 0 for a clean configuration', async (t) => {
  const { code, stdout } = await runCli(['check', '--origins', 'https://app.example.com, https://*.example.com', '--origins', '/https:\\/\\/pr-\\d+\\.example\\.com/'])
  t.equal(code, 0)
  t.match(stdout, /Allowlist:\n {2}KIND {6}ENTRY +NOTE\n {2}exact {5}https:\/\/app\.example\.com\n {2}wildcard {2}https:\/\/\*\.example\.com\n {2}RegExp {4}\/https:\\\/\\\/pr-\\d\+\\\.example\\\.com\//)
  t.match(stdout, /methods +GET, HEAD, PUT, PATCH, POST, DELETE/)
  t.match(stdout, /realtime +not checked \(pass --realtime\)/)
  t.match(stdout, /OK: start-up would succeed without warnings\./)
  t.notOk(stdout.includes('\u001b['), 'no colour when stdout is not a terminal')
})

t.test('check prints where the list came from, the public suffix a wildcard sits on, and colours only when asked', async (t) => {
  const { code, stdout } = await runCli(['check'], { CORS_ORIGINS: 'https://*.github.io' })
  t.equal(code, 1)
  t.match(stdout, /^Allowlist \(from CORS_ORIGINS\):\n {2}KIND {6}ENTRY +NOTE\n {2}wildcard {2}https:\/\/\*\.github\.io {2}on the public suffix github\.io\n/)
  t.match(stdout, /\n {2}! \[corsPolicy\] wildcard https:\/\/\*\.github\.io sits on the public suffix github\.io: anyone can register a site under it\nValid, with warnings\.\n$/)
  const coloured = await runCli(['check', '--origins', 'https://a.example'], { FORCE_COLOR: '1' })
  t.ok(coloured.stdout.includes('\u001b[32mOK: start-up would succeed'), 'FORCE_COLOR colours the verdict')
})

t.test('check reads the variables the plugin reads, and the flags win over them', async (t) => {
  const { code, json } = await runCliJson<CheckJson & { config: { credentials: boolean, maxAge: number } }>(['check', '--max-age', '60'], { CORS_ORIGINS: 'https://a.example,https://b.example', CORS_CREDENTIALS: 'true', CORS_MAX_AGE: '300' })
  t.equal(code, 0)
  t.same(json.config.allowlist.exact, ['https://a.example', 'https://b.example'])
  t.equal(json.config.credentials, true)
  t.equal(json.config.maxAge, 60)
})

t.test('check exits 1 with every warning of both plugins, as start-up logs them', async (t) => {
  const { code, json } = await runCliJson<CheckJson>(['check', '--origins', 'http://a.example,https://*.example.com', '--credentials', '--max-age', '900', '--realtime'])
  t.equal(code, 1)
  t.same(json.findings.map((finding) => `${finding.plugin}: ${finding.message}`), [
    'corsPolicy: maxAge 900 exceeds WebKit\'s cap (600 s); Safari caches preflights for 600 s at most',
    'corsPolicy: origin http://a.example is plain http with credentials: anyone on its network path can act as it',
    'corsPolicy: wildcard https://*.example.com with credentials trusts every subdomain; an XSS or takeover on any of them reads your users\' data'
  ])

  const withoutCredentials = await runCliJson<CheckJson>(['check', '--origins', 'http://a.example', '--realtime'])
  t.equal(withoutCredentials.code, 1)
  t.same(withoutCredentials.json.findings.map((finding) => `${finding.plugin}: ${finding.message}`), [
    'realtime: WebSocket upgrades carry cookies whatever CORS says: origin http://a.example is plain http with credentials: anyone on its network path can act as it'
  ], 'realtime warns about cookies on upgrades even without credentials')

  const anyOrigin = await runCli(['check', '--origins', '*', '--allow-any-origin'])
  t.equal(anyOrigin.code, 1)
  t.match(anyOrigin.stdout, /Warnings \(1\), logged at start-up:\n {2}! \[realtime\] allowAnyOrigin: any site can open a socket/)
  t.match(anyOrigin.stdout, /realtime +checked, allowAnyOrigin true/)
})

t.test('check reads a check file, with RegExps written as /source/flags, and the flags win over it', async (t) => {
  const dir = t.testdir({ 'check.json': JSON.stringify({ corsPolicy: { origins: ['https://a.example', '/https:\\/\\/pr-\\d+\\.a\\.example/i'], maxAge: 60 }, realtime: { allowAnyOrigin: false } }) })
  const { code, json } = await runCliJson<CheckJson & { config: { maxAge: number } }>(['check', '--config', join(dir, 'check.json'), '--max-age', '120'])
  t.equal(code, 0)
  t.same(json.config.allowlist.patterns, ['/https:\\/\\/pr-\\d+\\.a\\.example/i'])
  t.equal(json.config.maxAge, 120)
})

t.test('check prints an error with its fix in the table and exits 2', async (t) => {
  const { code, stdout } = await runCli(['check', '--origins', 'https://a.example/'])
  t.equal(code, 2)
  t.equal(stdout, 'Error, start-up would fail:\n  ✖ [corsPolicy] origins entry "https://a.example/": ends with a trailing slash, but an origin is only scheme://host[:port] and browsers compare it byte for byte\n    fix: write "https://a.example"\nInvalid: start-up would fail.\n')
})

t.test('usage errors exit 2: an unknown flag with the closest valid one, an argument, an unknown command', async (t) => {
  const flag = await runCli(['check', '--origin', 'https://a.example'])
  t.equal(flag.code, 2)
  t.match(flag.stderr, /unknown option --origin; did you mean --origins\?\nRun fastify-cors-io check --help for usage\./)
  const farFlag = await runCli(['check', '--zzzzzzzz'])
  t.match(farFlag.stderr, /unknown option --zzzzzzzz\n/)
  const argument = await runCli(['check', 'https://a.example'])
  t.equal(argument.code, 2)
  t.match(argument.stderr, /check takes no argument/)
  const missing = await runCli(['check', '--origins'])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /argument missing/)
  const far = await runCli(['zzzzzzzz'])
  t.equal(far.code, 2)
  t.equal(far.stderr, 'fastify-cors-io: unknown command zzzzzzzz\nRun fastify-cors-io --help for usage.\n')
  const command = await runCli(['chek'])
  t.equal(command.code, 2)
  t.match(command.stderr, /unknown command chek; did you mean check\?/)
  const none = await runCli([])
  t.equal(none.code, 2)
  t.match(none.stdout, /Usage: fastify-cors-io <command>/)
})

t.test('every sub-command has --help, with its exit codes', async (t) => {
  for (const command of ['check', 'explain', 'doctor']) {
    const { code, stdout } = await runCli([command, '--help'])
    t.equal(code, 0, `${command} --help exits 0`)
    t.match(stdout, new RegExp(`^Usage: fastify-cors-io ${command}`), `${command} --help shows its usage`)
    t.match(stdout, /Exit codes: 0 /, `${command} --help documents the exit codes`)
  }
  const main = await runCli(['--help'])
  t.equal(main.code, 0)
  t.match(main.stdout, /check +validate a configuration offline/)
})
