import t from 'tap'
import { checkConfiguration, realtimeOriginWarnings, summarizeConfig } from '../lib/config-check.js'
import { entryFromText, parseConfigFile } from '../lib/config-file.js'
import { resolveCorsConfig, type CorsPolicyOptions } from '../lib/config.js'
import { CorsConfigError } from '../lib/errors.js'
import { configError } from './helpers/errors.js'
import { explainOrigin } from '../lib/explain.js'

const NO_ENV: NodeJS.ProcessEnv = {}

t.test('CorsConfigError keeps the setting, the rule and the fix apart', async (t) => {
  const error = new CorsConfigError('maxAge', 'is too big', 'use 600')
  t.equal(error.message, 'maxAge: is too big. Fix: use 600.')
  t.equal(error.problem, 'is too big')
})

t.test('checkConfiguration reports corsPolicy\'s warnings, then realtime\'s, as start-up logs them', async (t) => {
  const report = checkConfiguration({ origins: ['http://a.example'], maxAge: 700 }, { allowAnyOrigin: false }, NO_ENV)
  t.ok(report.config)
  t.same(report.findings, [
    { plugin: 'corsPolicy', severity: 'warning', message: 'maxAge 700 exceeds WebKit\'s cap (600 s); Safari caches preflights for 600 s at most' },
    { plugin: 'realtime', severity: 'warning', message: 'WebSocket upgrades carry cookies whatever CORS says: origin http://a.example is plain http with credentials: anyone on its network path can act as it' }
  ])
  t.same(checkConfiguration({ origins: ['https://a.example'] }, undefined, NO_ENV).findings, [], 'realtime is not checked unless the app registers it')
})

t.test('checkConfiguration stops at the first error and says which plugin raised it', async (t) => {
  t.same(checkConfiguration({ origins: ['https://a.example'], maxAge: -1 }, undefined, NO_ENV), {
    findings: [{ plugin: 'corsPolicy', severity: 'error', message: '-1 is not a whole number of seconds from 0 to 86400', setting: 'maxAge', fix: 'use e.g. 600 (the largest value every browser honours)' }]
  })
  const realtime = checkConfiguration({ origins: ['*'] }, { allowAnyOrigin: false }, NO_ENV)
  t.equal(realtime.config, undefined)
  t.equal(realtime.findings[0]?.plugin, 'realtime')
  t.equal(realtime.findings[0]?.setting, 'origins')
})

t.test('checkConfiguration lets errors that are not configuration errors through', async (t) => {
  const options = { get origins (): string { throw new TypeError('a getter failed') } } as CorsPolicyOptions
  t.throws(() => checkConfiguration(options, undefined, NO_ENV), { name: 'TypeError', message: 'a getter failed' })
})

t.test('realtimeOriginWarnings: the rules and warnings the realtime plugin applies to the allowlist', async (t) => {
  const any = resolveCorsConfig({ origins: '*' }, NO_ENV)
  t.match(realtimeOriginWarnings(any, { allowAnyOrigin: true })[0], /^allowAnyOrigin: any site can open a socket/)
  t.match(configError(() => realtimeOriginWarnings(any, { allowAnyOrigin: false })).problem, /"\*" with the realtime plugin/)
  const listed = resolveCorsConfig({ origins: ['https://a.example'] }, NO_ENV)
  t.equal(configError(() => realtimeOriginWarnings(listed, { allowAnyOrigin: true })).setting, 'allowAnyOrigin')
  const wildcard = resolveCorsConfig({ origins: ['https://*.example.com'], credentials: true }, NO_ENV)
  t.same(realtimeOriginWarnings(wildcard, { allowAnyOrigin: false }), [], 'what corsPolicy already warned about is not repeated')
})

t.test('summarizeConfig gives the resolved configuration as plain JSON', async (t) => {
  const config = resolveCorsConfig({ origins: ['https://a.example', 'https://*.example.com', 'https://*.github.io', /https:\/\/pr-\d+\.example\.com/], cacheControl: 60 }, NO_ENV)
  const summary = summarizeConfig(config)
  t.same(summary.allowlist, {
    any: false,
    exact: ['https://a.example'],
    wildcards: [{ text: 'https://*.example.com' }, { text: 'https://*.github.io', publicSuffix: 'github.io' }],
    patterns: ['/https:\\/\\/pr-\\d+\\.example\\.com/']
  })
  t.equal(summary.cacheControl, 'max-age=60')
  t.equal(summary.methods, config.methods)
  t.notOk('warnings' in summary)
  t.equal(summarizeConfig(resolveCorsConfig({ origins: '*' }, NO_ENV)).cacheControl, null)
})

t.test('entryFromText reads /source/flags as a RegExp and anything else as the string', async (t) => {
  t.same(entryFromText('/https:\\/\\/a\\.example/i'), /https:\/\/a\.example/i)
  t.equal(entryFromText('https://a.example'), 'https://a.example')
  t.equal(entryFromText('//'), '//', 'an empty pattern is not a RegExp')
  t.match(configError(() => entryFromText('/(/')).problem, /^is not a valid RegExp/)
  t.match(configError(() => entryFromText('/a/z')).problem, /^is not a valid RegExp/, 'an unknown flag too')
})

t.test('parseConfigFile reads both sections and refuses what it does not know', async (t) => {
  t.same(parseConfigFile('{"corsPolicy":{"origins":["https://a.example","/https:\\\\/\\\\/b\\\\.example/",5]}}', 'f.json'),
    { cors: { origins: ['https://a.example', /https:\/\/b\.example/, 5] } }, 'non-string entries are left for the allowlist to refuse')
  t.same(parseConfigFile('{"corsPolicy":{"origins":"https://a.example"}}', 'f.json'), { cors: { origins: 'https://a.example' } })
  t.same(parseConfigFile('{}', 'f.json'), { cors: {} })
  t.same(parseConfigFile('{"realtime":{}}', 'f.json'), { cors: {}, realtime: { allowAnyOrigin: false } })
  t.same(parseConfigFile('{"realtime":{"allowAnyOrigin":true}}', 'f.json'), { cors: {}, realtime: { allowAnyOrigin: true } })
  t.match(configError(() => parseConfigFile('nope', 'f.json')), { setting: 'f.json', problem: /^is not JSON/ })
  t.match(configError(() => parseConfigFile('null', 'f.json')), { setting: 'f.json', problem: 'is null, not an object' })
  t.match(configError(() => parseConfigFile('{"corsPolicy":[]}', 'f.json')), { setting: 'f.json: corsPolicy' })
  t.match(configError(() => parseConfigFile('{"realtme":{}}', 'f.json')), { setting: 'f.json: realtme', fix: 'rename it to `realtime`' })
  t.match(configError(() => parseConfigFile('{"zzzzzzzzzzzz":{}}', 'f.json')), { fix: 'remove it; the known names are corsPolicy, realtime' })
  t.match(configError(() => parseConfigFile('{"realtime":{"allowAnyOrign":true}}', 'f.json')), { setting: 'f.json: realtime.allowAnyOrign', fix: 'rename it to `allowAnyOrigin`' })
  t.match(configError(() => parseConfigFile('{"realtime":{"allowAnyOrigin":1}}', 'f.json')), { setting: 'allowAnyOrigin', problem: '1 is not a boolean' })
})

t.test('explainOrigin names the entry that admits an origin', async (t) => {
  const cors = { origins: ['https://a.example', 'https://*.example.com', /https:\/\/pr-\d+\.preview\.example/] }
  for (const [origin, reason, entry] of [
    ['https://a.example', 'exact', 'https://a.example'],
    ['https://x.example.com', 'wildcard', 'https://*.example.com'],
    ['https://pr-7.preview.example', 'pattern', '/https:\\/\\/pr-\\d+\\.preview\\.example/']
  ]) {
    const { explanation } = explainOrigin(origin, cors, undefined, NO_ENV)
    t.same(explanation, { origin, decision: { allowed: true, reason, entry }, description: `Origin "${origin}" is allowed by entry ${entry}` })
  }
  t.same(explainOrigin('https://b.example', { origins: '*' }, undefined, NO_ENV).explanation?.decision, { allowed: true, reason: 'any', entry: '*' })
})

t.test('explainOrigin adds the exact entry, where the list is configured, with the warnings it would bring', async (t) => {
  const array = explainOrigin('https://b.example', { origins: ['https://a.example'] }, undefined, NO_ENV).explanation
  t.equal(array?.decision.reason, 'not-listed')
  t.equal(array?.fix, 'if this origin is yours, add it to origins (or CORS_ORIGINS)')
  t.same(array?.change, { entry: 'https://b.example', setting: 'origins', origins: ['https://a.example', 'https://b.example'], warnings: [] })
  const string = explainOrigin('https://a.example:8443', { origins: 'https://a.example, https://c.example' }, undefined, NO_ENV).explanation
  t.equal(string?.decision.reason, 'port-differs')
  t.same(string?.change?.origins, ['https://a.example', 'https://c.example', 'https://a.example:8443'])
  const env = explainOrigin('http://a.example', {}, { allowAnyOrigin: false }, { CORS_ORIGINS: 'https://a.example', CORS_CREDENTIALS: 'true' }).explanation
  t.equal(env?.decision.reason, 'scheme-differs')
  t.same(env?.change, {
    entry: 'http://a.example',
    setting: 'CORS_ORIGINS',
    origins: ['https://a.example', 'http://a.example'],
    warnings: ['origin http://a.example is plain http with credentials: anyone on its network path can act as it']
  })
  const foreign = explainOrigin('https://bucket.s3.amazonaws.com', { origins: ['https://*.amazonaws.com'] }, undefined, NO_ENV).explanation
  t.equal(foreign?.decision.reason, 'foreign-domain')
  t.equal(foreign?.change?.entry, 'https://bucket.s3.amazonaws.com', 'the exact origin, never a wildcard over the public suffix')
})

t.test('explainOrigin says when no change can safely admit the origin', async (t) => {
  const cors = { origins: ['https://a.example'] }
  const cases: Array<[string, string, RegExp]> = [
    ['null', 'malformed', /^"null" is the Origin of sandboxed iframes/],
    ['not an origin', 'malformed', /^browsers never send this value/],
    [`https://${'a'.repeat(300)}.example`, 'too-long', /^no origin is that long/],
    ['https://A.example', 'non-canonical', /already allowed/],
    ['https://xn--a.example', 'not-listed', /^start-up refuses it as an entry \(origins entry "https:\/\/xn--a\.example": is not a valid host/],
    ['https://0x7f.0.0.1', 'not-listed', /^as an entry it normalizes to another origin/]
  ]
  for (const [origin, reason, why] of cases) {
    const { explanation } = explainOrigin(origin, cors, undefined, NO_ENV)
    t.equal(explanation?.decision.reason, reason, origin)
    t.match(explanation?.noSafeChange, why, origin)
    t.equal(explanation?.change, undefined, origin)
  }
})

t.test('explainOrigin explains nothing when start-up would fail', async (t) => {
  const { report, explanation } = explainOrigin('https://a.example', {}, undefined, NO_ENV)
  t.equal(explanation, undefined)
  t.equal(report.findings[0]?.setting, 'origins')
})

t.test('explainOrigin says that a dynamic list cannot be explained offline', async (t) => {
  const explanation = explainOrigin('https://b.example', { origins: () => true }, undefined, NO_ENV).explanation
  t.match(explanation?.noSafeChange, /origins function \(dynamic\): it alone decides/)
  t.equal(explanation?.change, undefined, 'no entry is proposed')
})
