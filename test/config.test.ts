import t from 'tap'
import { resolveCorsConfig, type CorsPolicyOptions } from '../lib/config.js'
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

t.test('without an env argument, process.env is read', async (t) => {
  const saved = process.env.CORS_ORIGINS
  t.teardown(() => {
    if (saved === undefined) delete process.env.CORS_ORIGINS
    else process.env.CORS_ORIGINS = saved
  })
  process.env.CORS_ORIGINS = 'https://from-process-env.example'
  t.same([...resolveCorsConfig({}).allowlist.exact], ['https://from-process-env.example'])
})
