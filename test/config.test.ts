import t from 'tap'
import { readFile } from 'node:fs/promises'
import { defaultOptions, refuseEntriesAnySiteCanUse, resolveCorsConfig, type CorsPolicyOptions } from '../lib/config.js'
import { CorsConfigError } from '../lib/errors.js'

const ORIGINS = ['https://app.example.com']
const NO_ENV: NodeJS.ProcessEnv = {}

/** Resolves options that are expected to be refused, and returns the error. */
function configError (options: CorsPolicyOptions, env: NodeJS.ProcessEnv = NO_ENV): CorsConfigError {
  try {
    resolveCorsConfig(options, env)
  } catch (error) {
    if (error instanceof CorsConfigError) return error
    throw error
  }
  throw new Error('expected a CorsConfigError, nothing was thrown')
}

/** Lets a test pass a value its option type forbids, as a JavaScript caller could. */
function untyped (options: Record<string, unknown>): CorsPolicyOptions {
  return options as CorsPolicyOptions
}

t.test('defaults', async (t) => {
  const config = resolveCorsConfig({ origins: ORIGINS }, NO_ENV)
  t.equal(config.credentials, false)
  t.same(config.methods, ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'])
  t.same(config.allowedHeaders, ['Content-Type', 'Authorization'])
  t.same(config.exposedHeaders, [])
  t.equal(config.maxAge, 600)
  t.equal(config.cacheControl, undefined)
  t.equal(config.privateNetwork, false)
  t.equal(config.refusal, 'block')
  t.equal(config.decisionCacheSize, 1000)
  t.same(config.warnings, [])
})

t.test('the resolved config is frozen', async (t) => {
  const config = resolveCorsConfig({ origins: ORIGINS }, NO_ENV)
  t.ok(Object.isFrozen(config))
  t.ok(Object.isFrozen(config.methods))
  t.ok(Object.isFrozen(config.warnings))
})

t.test('the environment fills what the options leave out', async (t) => {
  const config = resolveCorsConfig({}, {
    CORS_ORIGINS: 'https://a.example, https://b.example',
    CORS_CREDENTIALS: 'true',
    CORS_MAX_AGE: ' 300 ',
    CORS_PRIVATE_NETWORK: '1'
  })
  t.same([...config.allowlist.exact], ['https://a.example', 'https://b.example'])
  t.equal(config.credentials, true)
  t.equal(config.maxAge, 300)
  t.equal(config.privateNetwork, true)
})

t.test('explicit options win over the environment', async (t) => {
  const config = resolveCorsConfig({ origins: ORIGINS, credentials: false, maxAge: 60, privateNetwork: false }, {
    CORS_ORIGINS: 'https://env.example',
    CORS_CREDENTIALS: 'true',
    CORS_MAX_AGE: '300',
    CORS_PRIVATE_NETWORK: 'true'
  })
  t.same([...config.allowlist.exact], ['https://app.example.com'])
  t.equal(config.credentials, false)
  t.equal(config.maxAge, 60)
  t.equal(config.privateNetwork, false)
})

t.test('boolean environment variables accept true/false/1/0 in any case', async (t) => {
  const table: Array<[string, boolean]> = [['true', true], ['TRUE', true], ['1', true], ['false', false], ['False', false], ['0', false]]
  for (const [value, expected] of table) {
    t.equal(resolveCorsConfig({ origins: ORIGINS }, { CORS_CREDENTIALS: value }).credentials, expected, value)
  }
})

t.test('blank environment variables count as unset', async (t) => {
  const config = resolveCorsConfig({ origins: ORIGINS }, { CORS_CREDENTIALS: ' ', CORS_MAX_AGE: '', CORS_PRIVATE_NETWORK: '' })
  t.equal(config.credentials, false)
  t.equal(config.maxAge, 600)
  t.equal(config.privateNetwork, false)
})

t.test('a non-boolean environment variable is refused, naming the variable', async (t) => {
  for (const name of ['CORS_CREDENTIALS', 'CORS_PRIVATE_NETWORK']) {
    const error = configError({ origins: ORIGINS }, { [name]: 'yes' })
    t.equal(error.setting, name)
    t.match(error.message, '"yes" is not a boolean')
    t.equal(error.fix, `set ${name}=true or ${name}=false`)
  }
})

t.test('Fastify\'s register options (prefix, logLevel, logSerializers) are accepted', async (t) => {
  const config = resolveCorsConfig({ origins: ORIGINS, prefix: '/api', logLevel: 'warn', logSerializers: {} } as CorsPolicyOptions, NO_ENV)
  t.same(config.allowlist.exact, new Set(['https://app.example.com']))
})

t.test('a CORS_MAX_AGE out of range is refused, naming the variable', async (t) => {
  const error = configError({ origins: ORIGINS }, { CORS_MAX_AGE: '86401' })
  t.equal(error.setting, 'CORS_MAX_AGE')
  t.match(error.message, '86401 is not a whole number of seconds from 0 to 86400')
})

t.test('a non-integer CORS_MAX_AGE is refused, naming the variable', async (t) => {
  for (const value of ['ten', '-5', '1.5']) {
    const error = configError({ origins: ORIGINS }, { CORS_MAX_AGE: value })
    t.equal(error.setting, 'CORS_MAX_AGE', value)
    t.match(error.fix, 'CORS_MAX_AGE=600')
  }
})

t.test('no origins in options nor environment is refused with how to set them', async (t) => {
  const error = configError({})
  t.equal(error.setting, 'origins')
  t.match(error.fix, 'CORS_ORIGINS=')
  t.match(error.fix, 'origins:')
})

t.test('an unknown option is refused; `origin` is pointed at `origins`', async (t) => {
  const misspelt = configError(untyped({ origin: ORIGINS }))
  t.equal(misspelt.setting, 'origin')
  t.equal(misspelt.fix, 'rename it to `origins`')
  const unknown = configError(untyped({ origins: ORIGINS, strictness: 1 }))
  t.equal(unknown.setting, 'strictness')
  t.match(unknown.fix, 'the options are origins, credentials')
})

t.test('a misspelt option is pointed at the closest option name', async (t) => {
  const table: Array<[string, string]> = [
    ['maxage', 'maxAge'], ['credential', 'credentials'], ['allowHeaders', 'allowedHeaders'], ['exposeHeaders', 'exposedHeaders'],
    ['cachecontrol', 'cacheControl'], ['refusals', 'refusal'], ['privateNetwrok', 'privateNetwork'], ['decisionCacheSzie', 'decisionCacheSize']
  ]
  for (const [name, closest] of table) {
    const error = configError(untyped({ origins: ORIGINS, [name]: 1 }))
    t.equal(error.setting, name)
    t.equal(error.fix, `rename it to \`${closest}\``, name)
  }
})

t.test('defaultOptions is one frozen object, and what resolveCorsConfig fills in', async (t) => {
  t.ok(Object.isFrozen(defaultOptions))
  t.ok(Object.isFrozen(defaultOptions.methods))
  const config = resolveCorsConfig({ origins: ORIGINS }, NO_ENV)
  t.same(config.methods, defaultOptions.methods)
  t.same(config.allowedHeaders, defaultOptions.allowedHeaders)
  t.same(config.exposedHeaders, defaultOptions.exposedHeaders)
  t.same(
    [config.credentials, config.maxAge, config.cacheControl, config.privateNetwork, config.refusal, config.decisionCacheSize],
    [defaultOptions.credentials, defaultOptions.maxAge, defaultOptions.cacheControl, defaultOptions.privateNetwork, defaultOptions.refusal, defaultOptions.decisionCacheSize]
  )
})

/** How the docs' tables write a default value. */
function documented (value: unknown): string {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return 'none'
  if (Array.isArray(value)) return value.join(', ')
  if (typeof value === 'object' && value !== null) return Object.entries(value).map(([name, item]) => `${name}: ${documented(item)}`).join(', ')
  return typeof value === 'string' ? `'${value}'` : String(value)
}

t.test('the options tables of docs/options.md and README.md list exactly defaultOptions', async (t) => {
  const docs = await readFile(new URL('../docs/options.md', import.meta.url), 'utf8')
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8')
  for (const [name, value] of Object.entries(defaultOptions)) {
    const docsRow = docs.split('\n').find((line) => line.startsWith(`| \`${name}\` |`))
    t.equal(docsRow?.split(' | ')[2].replace(/`/g, ''), documented(value), `docs/options.md: ${name}`)
    const readmeRow = readme.split('\n').find((line) => line.includes(`| \`${name}\` |`))
    t.equal(readmeRow?.split(' | ')[2].replace(/`/g, ''), documented(value), `README.md: ${name}`)
  }
})

t.test('credentials and privateNetwork must be booleans', async (t) => {
  for (const setting of ['credentials', 'privateNetwork']) {
    const error = configError(untyped({ origins: ORIGINS, [setting]: 'yes' }))
    t.equal(error.setting, setting)
    t.match(error.message, '"yes" is not a boolean')
    t.equal(error.fix, 'pass true or false')
  }
})

t.test('"*" with credentials is refused', async (t) => {
  const error = configError({ origins: '*', credentials: true })
  t.equal(error.setting, 'origins')
  t.match(error.message, '"*" with credentials')
  t.match(error.fix, 'list the origins you trust')
})

t.test('"*" with credentials from the environment is refused too', async (t) => {
  t.equal(configError({}, { CORS_ORIGINS: '*', CORS_CREDENTIALS: 'true' }).setting, 'origins')
})

t.test('maxAge must be an integer from 0 to 86400', async (t) => {
  for (const maxAge of [-1, 86401, 1.5, Number.NaN, '600']) {
    const error = configError(untyped({ origins: ORIGINS, maxAge }))
    t.equal(error.setting, 'maxAge', String(maxAge))
    t.match(error.message, 'from 0 to 86400')
    t.match(error.fix, '600')
  }
  t.equal(resolveCorsConfig({ origins: ORIGINS, maxAge: 0 }, NO_ENV).maxAge, 0)
  t.equal(resolveCorsConfig({ origins: ORIGINS, maxAge: 86400 }, NO_ENV).maxAge, 86400)
})

t.test('refusal must be block or omit-headers', async (t) => {
  const error = configError(untyped({ origins: ORIGINS, refusal: 'nope' }))
  t.equal(error.setting, 'refusal')
  t.match(error.message, '"nope" is not a refusal mode')
  t.match(error.fix, '"block"')
  t.equal(resolveCorsConfig({ origins: ORIGINS, refusal: 'omit-headers' }, NO_ENV).refusal, 'omit-headers')
})

t.test('decisionCacheSize must be a whole number, 0 allowed', async (t) => {
  for (const decisionCacheSize of [-1, 1.5]) {
    t.equal(configError({ origins: ORIGINS, decisionCacheSize }).setting, 'decisionCacheSize', String(decisionCacheSize))
  }
  t.equal(resolveCorsConfig({ origins: ORIGINS, decisionCacheSize: 0 }, NO_ENV).decisionCacheSize, 0)
})

t.test('token lists accept a comma-separated string and drop blanks and duplicates', async (t) => {
  const config = resolveCorsConfig({ origins: ORIGINS, methods: 'GET, POST,,GET', allowedHeaders: ['X-A', ' X-B ', ''], exposedHeaders: 'X-Id' }, NO_ENV)
  t.same(config.methods, ['GET', 'POST'])
  t.same(config.allowedHeaders, ['X-A', 'X-B'])
  t.same(config.exposedHeaders, ['X-Id'])
})

t.test('a list item that is not an HTTP token is refused', async (t) => {
  for (const setting of ['methods', 'allowedHeaders', 'exposedHeaders']) {
    const error = configError(untyped({ origins: ORIGINS, [setting]: ['X Bad'] }))
    t.equal(error.setting, setting)
    t.match(error.message, '"X Bad" is not an HTTP token')
  }
})

t.test('a list that is neither string nor array is refused', async (t) => {
  const error = configError(untyped({ origins: ORIGINS, methods: 42 }))
  t.equal(error.setting, 'methods')
  t.match(error.message, 'neither a string nor an array')
})

t.test('"*" in methods or headers is refused with credentials', async (t) => {
  for (const setting of ['methods', 'allowedHeaders', 'exposedHeaders']) {
    const error = configError({ origins: ORIGINS, credentials: true, [setting]: ['*'] })
    t.equal(error.setting, setting)
    t.match(error.message, 'literally "*"')
    t.equal(error.fix, 'list the names explicitly')
  }
})

t.test('"*" in methods or headers is accepted without credentials', async (t) => {
  const config = resolveCorsConfig({ origins: ORIGINS, methods: '*', allowedHeaders: '*', exposedHeaders: '*' }, NO_ENV)
  t.same([config.methods, config.allowedHeaders, config.exposedHeaders], [['*'], ['*'], ['*']])
})

t.test('cacheControl takes seconds or a header value', async (t) => {
  t.equal(resolveCorsConfig({ origins: ORIGINS, cacheControl: 600 }, NO_ENV).cacheControl, 'max-age=600')
  t.equal(resolveCorsConfig({ origins: ORIGINS, cacheControl: ' public, max-age=60 ' }, NO_ENV).cacheControl, 'public, max-age=60')
})

t.test('an unusable cacheControl is refused', async (t) => {
  for (const cacheControl of [-1, 1.5, '', ' ', 'max-age=1\r\nSet-Cookie: x=1']) {
    const error = configError({ origins: ORIGINS, cacheControl })
    t.equal(error.setting, 'cacheControl', JSON.stringify(cacheControl))
    t.match(error.fix, 'public, max-age=600')
  }
})

t.test('a cacheControl with a character invalid in a header value is refused, naming it', async (t) => {
  // Node answers every granted preflight with 500 ERR_INVALID_CHAR on these (RFC 9110 §5.5 field-value).
  const table: Array<[string, string]> = [
    ['max-age=60\u0000', 'U+0000'], ['max-age=60\u0001', 'U+0001'], ['max-age=60\u007f', 'U+007F'], ['max-age=\u000b60', 'U+000B'],
    ['public,\rmax-age=60', 'U+000D'], ['max-age=60, é', 'U+00E9'], ['max-age=60\u2028, public', 'U+2028'], ['max-age=60 \u0100', 'U+0100']
  ]
  for (const [cacheControl, code] of table) {
    const error = configError({ origins: ORIGINS, cacheControl })
    t.equal(error.setting, 'cacheControl', code)
    t.match(error.message, `contains ${code}`, code)
    t.notMatch(error.message.replace('§', ''), /[^\x20-\x7e]/, 'the message shows the value escaped, on one line')
    t.match(error.message, 'RFC 9110 §5.5')
    t.match(error.fix, 'public, max-age=600')
  }
})

t.test('a cacheControl with spaces and tabs inside is a valid header value', async (t) => {
  t.equal(resolveCorsConfig({ origins: ORIGINS, cacheControl: 'public,\tmax-age=60, stale-while-revalidate=30' }, NO_ENV).cacheControl,
    'public,\tmax-age=60, stale-while-revalidate=30')
})

t.test('maxAge above 600 warns about WebKit', async (t) => {
  const { warnings } = resolveCorsConfig({ origins: ORIGINS, maxAge: 601 }, NO_ENV)
  t.equal(warnings.length, 1)
  t.match(warnings[0], "WebKit's cap (600 s)")
})

t.test('maxAge above 7200 warns about Chromium', async (t) => {
  const { warnings } = resolveCorsConfig({ origins: ORIGINS, maxAge: 7201 }, NO_ENV)
  t.equal(warnings.length, 1)
  t.match(warnings[0], "Chromium's cap (7200 s)")
})

t.test('maxAge 600 does not warn', async (t) => {
  t.same(resolveCorsConfig({ origins: ORIGINS, maxAge: 600 }, NO_ENV).warnings, [])
})

t.test('an http:// origin with credentials warns', async (t) => {
  const { warnings } = resolveCorsConfig({ origins: ['https://a.example', 'http://b.example'], credentials: true }, NO_ENV)
  t.equal(warnings.length, 1)
  t.match(warnings[0], 'http://b.example is plain http with credentials')
})

t.test('more than 100 RegExp entries warn; 100 do not', async (t) => {
  const patterns = (count: number): RegExp[] => Array.from({ length: count }, (_, i) => new RegExp(`https://app-${i}\\.example\\.com`))
  t.same(resolveCorsConfig({ origins: patterns(100) }, NO_ENV).warnings, [])
  const warnings = resolveCorsConfig({ origins: patterns(101) }, NO_ENV).warnings
  t.equal(warnings.length, 1)
  t.match(warnings[0], '101 RegExp entries')
})

t.test('a wildcard with credentials warns', async (t) => {
  const { warnings } = resolveCorsConfig({ origins: ['https://*.example.com'], credentials: true }, NO_ENV)
  t.equal(warnings.length, 1)
  t.match(warnings[0], 'wildcard https://*.example.com with credentials')
})

t.test('http:// origins and wildcards do not warn without credentials', async (t) => {
  t.same(resolveCorsConfig({ origins: ['http://b.example', 'https://*.example.com'] }, NO_ENV).warnings, [])
})

const ARBITRARY_PATTERNS = [/.*/, /.+/, /https?:\/\/.+/, /https:\/\/.*/, /https?:\/\/[a-z0-9.-]+(:\d+)?/, /https?:\/\/[^/]+/, /https:\/\/[\w.-]+:\d+/]

t.test('a RegExp that admits arbitrary origins is refused with credentials, naming the entry and the fix', async (t) => {
  for (const pattern of ARBITRARY_PATTERNS) {
    const error = configError({ origins: ['https://app.example.com', pattern], credentials: true })
    t.equal(error.setting, `origins entry ${String(pattern)}`, String(pattern))
    t.match(error.message, 'admits origins on any domain')
    t.match(error.message, /\.(invalid|test|example)\b.*\.(invalid|test|example)\b/, 'names two probes it admitted')
    t.match(error.fix, 'pin the host')
  }
})

t.test('a RegExp that admits arbitrary origins warns without credentials', async (t) => {
  for (const pattern of ARBITRARY_PATTERNS) {
    const { warnings } = resolveCorsConfig({ origins: [pattern] }, NO_ENV)
    t.equal(warnings.length, 1, String(pattern))
    t.match(warnings[0], `RegExp ${String(pattern)} admits origins on any domain`)
  }
})

t.test('RegExps that pin a domain are accepted with credentials and do not warn', async (t) => {
  const pinned = [
    /https:\/\/pr-\d+\.preview\.example\.com/, /https?:\/\/localhost(:\d+)?/, /https:\/\/[a-z0-9-]+\.corp\.example\.com(:\d+)?/,
    /https?:\/\/[a-z0-9-]+\.test(:\d+)?/, /http:\/\/192\.168\.\d{1,3}\.\d{1,3}:\d+/
  ]
  const config = resolveCorsConfig({ origins: pinned, credentials: true }, NO_ENV)
  t.equal(config.allowlist.patterns.length, pinned.length)
  t.same(config.warnings, [])
})

t.test('a RegExp for public names that writes out no domain is refused with credentials and with the realtime plugin', async (t) => {
  const unnamed = /https:\/\/\w+\.com/
  const error = configError({ origins: [unnamed], credentials: true })
  t.equal(error.setting, `origins entry ${String(unnamed)}`)
  t.match(error.message, 'matches origins on public names (e.g. https://a.com) but writes out no registrable domain; a RegExp admits only domains its source names, so it admits none of them (refused with credentials')
  t.match(error.fix, 'name your domain in it with escaped dots, e.g. /https:\\/\\/[a-z0-9-]+\\.example\\.com/')
  const allowlist = resolveCorsConfig({ origins: [unnamed] }, NO_ENV).allowlist
  t.throws(() => refuseEntriesAnySiteCanUse(allowlist, 'with the realtime plugin'), { setting: `origins entry ${String(unnamed)}`, message: /refused with the realtime plugin/ })
})

t.test('a RegExp with nested quantifiers is refused without credentials too', async (t) => {
  const error = configError({ origins: [/https:\/\/(\w+\.?)+\.example\.com/] })
  t.match(error.message, 'nested quantifiers')
})

t.test('local development RegExps pass the realtime plugin\'s check', async (t) => {
  const allowlist = resolveCorsConfig({ origins: [/http:\/\/localhost:\d+/, /http:\/\/127\.0\.0\.1:\d+/, /https:\/\/pr-\d+\.preview\.example\.com/] }, NO_ENV).allowlist
  t.doesNotThrow(() => refuseEntriesAnySiteCanUse(allowlist, 'with the realtime plugin'))
})

t.test('a wildcard on a public suffix is refused with credentials, ICANN and private suffixes alike', async (t) => {
  for (const [entry, suffix] of [['https://*.co.uk', 'co.uk'], ['https://*.github.io', 'github.io'], ['http://*.herokuapp.com:8080', 'herokuapp.com'], ['https://*.s3.amazonaws.com', 's3.amazonaws.com']]) {
    const error = configError({ origins: [entry], credentials: true })
    t.match(error.setting, `origins entry "${entry}"`, entry)
    t.match(error.message, `public suffix ${suffix}`)
    t.match(error.fix, `*.yourname.${suffix}`)
  }
})

t.test('a wildcard on a public suffix warns without credentials', async (t) => {
  const { warnings } = resolveCorsConfig({ origins: ['https://*.github.io'] }, NO_ENV)
  t.equal(warnings.length, 1)
  t.match(warnings[0], 'wildcard https://*.github.io sits on the public suffix github.io')
})

t.test('a wildcard under a registrable domain is not a public-suffix wildcard', async (t) => {
  const config = resolveCorsConfig({ origins: ['https://*.example.co.uk', 'https://*.myname.github.io', 'https://*.corp.internal'], credentials: true }, NO_ENV)
  t.equal(config.allowlist.wildcards.length, 3)
  t.equal(config.warnings.length, 3)
  for (const warning of config.warnings) t.match(warning, 'with credentials trusts every subdomain')
})

t.test('without an env argument, process.env is read', async (t) => {
  const saved = process.env.CORS_ORIGINS
  t.teardown(() => {
    if (saved === undefined) delete process.env.CORS_ORIGINS
    else process.env.CORS_ORIGINS = saved
  })
  process.env.CORS_ORIGINS = 'https://from-process-env.example'
  t.same([...resolveCorsConfig({}).allowlist.exact], ['https://from-process-env.example'])
})
