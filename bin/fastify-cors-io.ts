#!/usr/bin/env node
/**
 * The fastify-cors-io command: `check`, `explain` and `doctor` (see docs/operations.md). Parsing and
 * printing only; every decision comes from lib/, the same functions the plugins run.
 * Exit codes: 0 ok, 1 findings (warnings, a refused origin, a failed probe step), 2 usage or configuration error.
 */
import { readFileSync } from 'node:fs'
import { parseArgs, styleText } from 'node:util'
import { closestName } from '../lib/closest-name.js'
import { checkConfiguration, errorFinding, summarizeConfig, type ConfigFinding, type ConfigReport } from '../lib/config-check.js'
import { entryFromText, parseConfigFile, type CheckInput } from '../lib/config-file.js'
import type { CorsPolicyOptions } from '../lib/config.js'
import { doctor, type DoctorReport } from '../lib/doctor.js'
import { CorsConfigError } from '../lib/errors.js'
import { explainOrigin, type Explanation } from '../lib/explain.js'

const EXIT_OK = 0
const EXIT_FINDINGS = 1
const EXIT_USAGE = 2

type OptionSpec = Record<string, { type: 'string' | 'boolean', multiple?: boolean }>

const CONFIG_OPTIONS: OptionSpec = {
  origins: { type: 'string', multiple: true },
  credentials: { type: 'boolean' },
  methods: { type: 'string' },
  'allowed-headers': { type: 'string' },
  'exposed-headers': { type: 'string' },
  'max-age': { type: 'string' },
  'cache-control': { type: 'string' },
  'private-network': { type: 'boolean' },
  refusal: { type: 'string' },
  'decision-cache-size': { type: 'string' },
  realtime: { type: 'boolean' },
  'allow-any-origin': { type: 'boolean' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' }
}
const DOCTOR_OPTIONS: OptionSpec = {
  origin: { type: 'string' },
  cookie: { type: 'string' },
  credentials: { type: 'boolean' },
  method: { type: 'string' },
  headers: { type: 'string' },
  'socket-path': { type: 'string' },
  'no-socket': { type: 'boolean' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' }
}

const CONFIG_FLAGS_HELP = `Configuration (as the plugins read it; flags win over --config, which wins over the environment):
  --origins LIST           allowlist entries, comma-separated or repeated; /source/flags is a RegExp
  --credentials            credentials: true
  --methods LIST           methods a preflight grants
  --allowed-headers LIST   request headers a preflight grants
  --exposed-headers LIST   response headers exposed to the page
  --max-age SECONDS        Access-Control-Max-Age
  --cache-control VALUE    Cache-Control of granted preflights (seconds or a header value)
  --private-network        privateNetwork: true
  --refusal MODE           block | omit-headers
  --decision-cache-size N  bound of the decision memo
  --realtime               the app registers the realtime plugin too (its origin rules apply)
  --allow-any-origin       realtime's allowAnyOrigin: true (implies --realtime)
  --config FILE            JSON: { "corsPolicy": { ...options }, "realtime": { "allowAnyOrigin": false } }
Environment: CORS_ORIGINS, CORS_CREDENTIALS, CORS_MAX_AGE, CORS_PRIVATE_NETWORK fill what options leave out.`

const HELP: Record<string, string> = {
  main: `Usage: fastify-cors-io <command> [options]

Commands:
  check                 validate a configuration offline, exactly as the plugins decide at start-up
  explain ORIGIN        which entry admits ORIGIN, or why it is refused and the smallest change that admits it
  doctor URL --origin O probe a running server as a browser on O would (CORS and Socket.IO)

Run fastify-cors-io <command> --help for its options.
Exit codes: 0 ok, 1 findings, 2 usage or configuration error.`,
  check: `Usage: fastify-cors-io check [configuration] [--json]

Prints the normalized allowlist and settings, every warning, and the error that would stop start-up with its fix.
Exit codes: 0 valid without warnings, 1 valid with warnings, 2 invalid (or usage error).

${CONFIG_FLAGS_HELP}
  --json                   machine-readable output`,
  explain: `Usage: fastify-cors-io explain ORIGIN [configuration] [--json]

Says which entry admits ORIGIN, or why it is refused, what the plugins' log advises, and the smallest
configuration change that would admit it (or why no safe change exists).
Exit codes: 0 allowed, 1 refused, 2 invalid configuration (or usage error).

${CONFIG_FLAGS_HELP}
  --json                   machine-readable output`,
  doctor: `Usage: fastify-cors-io doctor URL --origin ORIGIN [options]

Probes a running server the way a browser page on ORIGIN would: the CORS preflight (when the method or
headers need one), the request, the Socket.IO polling handshake (EIO=4), a CONNECT and its answer on that
session, and the WebSocket upgrade. Each step is judged by the Fetch standard's rules, with the message
Chrome, Firefox and Safari show when it fails, and the fix. Works against any server.
Exit codes: 0 every step passes, 1 a step fails, 2 usage error.

  --origin ORIGIN          the page's origin (required)
  --cookie COOKIE          Cookie header to send; makes the request credentialed
  --credentials            credentialed without a cookie (fetch credentials: 'include', withCredentials: true)
  --method METHOD          method of the request (default GET)
  --headers LIST           names of request headers the page sets, e.g. X-A,X-B
  --socket-path PATH       socket.io path (default /socket.io/)
  --no-socket              skip the Socket.IO steps (an HTTP-only server)
  --timeout MS             bound of each exchange (default 10000)
  --json                   machine-readable output`
}

class UsageError extends Error {}

// FORCE_COLOR and NO_COLOR as Node's own terminal colours read them (https://no-color.org).
const colour = (process.stdout.isTTY || process.env.FORCE_COLOR !== undefined) && process.env.NO_COLOR === undefined
function paint (format: Parameters<typeof styleText>[0], text: string, json: boolean): string {
  return colour && !json ? styleText(format, text) : text
}

function parse (args: string[], options: OptionSpec): { values: Record<string, string | boolean | string[] | undefined>, positionals: string[] } {
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true })
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name in options) continue
    const closest = closestName(token.name, Object.keys(options))
    throw new UsageError(`unknown option ${token.rawName}${closest === undefined ? '' : `; did you mean --${closest}?`}`)
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true }) as ReturnType<typeof parse>
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

function list (value: unknown): string[] | undefined {
  if (value === undefined) return undefined
  return (Array.isArray(value) ? value : [value]).flatMap((item: string) => item.split(',')).map((item) => item.trim()).filter((item) => item !== '')
}

/** A whole number stays a number; anything else goes through as given, for the plugin's validation to judge. */
function numeric (value: unknown): number | string | undefined {
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value as string | undefined
}

function configInput (values: Record<string, unknown>): CheckInput {
  const file: CheckInput = typeof values.config === 'string' ? parseConfigFile(readConfigFile(values.config), values.config) : { cors: {} }
  const flags: Record<string, unknown> = {
    origins: list(values.origins)?.map(entryFromText),
    credentials: values.credentials,
    methods: list(values.methods),
    allowedHeaders: list(values['allowed-headers']),
    exposedHeaders: list(values['exposed-headers']),
    maxAge: numeric(values['max-age']),
    cacheControl: numeric(values['cache-control']),
    privateNetwork: values['private-network'],
    refusal: values.refusal,
    decisionCacheSize: numeric(values['decision-cache-size'])
  }
  const cors = { ...file.cors, ...Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined)) } as CorsPolicyOptions
  const realtime = values['allow-any-origin'] === true
    ? { allowAnyOrigin: true }
    : file.realtime ?? (values.realtime === true ? { allowAnyOrigin: false } : undefined)
  return realtime === undefined ? { cors } : { cors, realtime }
}

/** The options, or, when the file is unreadable or invalid, the report of that error. */
function loadInput (values: Record<string, unknown>): CheckInput | ConfigReport {
  try {
    return configInput(values)
  } catch (error) {
    // The file, its JSON and its RegExps raise nothing but CorsConfigError.
    return { findings: [errorFinding(error as CorsConfigError, 'corsPolicy')] }
  }
}

function readConfigFile (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new CorsConfigError(path, `cannot be read (${(error as NodeJS.ErrnoException).code})`, 'pass the path of a JSON check file')
  }
}

function table (rows: string[][], indent = '  '): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)))
  return rows.map((row) => indent + row.map((cell, column) => column === row.length - 1 ? cell : cell.padEnd(widths[column])).join('  ').trimEnd()).join('\n')
}

function findingLines (findings: readonly ConfigFinding[], json: boolean): string[] {
  const lines: string[] = []
  const warnings = findings.filter((finding) => finding.severity === 'warning')
  if (warnings.length > 0) {
    lines.push(`Warnings (${warnings.length}), logged at start-up:`)
    for (const warning of warnings) lines.push(`  ${paint('yellow', '!', json)} [${warning.plugin}] ${warning.message}`)
  }
  for (const error of findings.filter((finding) => finding.severity === 'error')) {
    lines.push('Error, start-up would fail:', `  ${paint('red', '✖', json)} [${error.plugin}] ${error.setting}: ${error.message}`, `    fix: ${error.fix}`)
  }
  return lines
}

function runCheck (args: string[]): number {
  const { values, positionals } = parse(args, CONFIG_OPTIONS)
  if (values.help === true) return print(HELP.check)
  if (positionals.length > 0) throw new UsageError(`check takes no argument (got ${positionals[0]}); configure with flags, --config or CORS_* variables`)
  const json = values.json === true
  const input = loadInput(values)
  const report = 'findings' in input ? input : checkConfiguration(input.cors, input.realtime, process.env)
  const exit = reportExit(report)
  if (json) return print(JSON.stringify({ ok: exit === EXIT_OK, exitCode: exit, config: report.config === undefined ? null : summarizeConfig(report.config), findings: report.findings }, null, 2), exit)
  const lines: string[] = []
  if (report.config !== undefined && !('findings' in input)) {
    const summary = summarizeConfig(report.config)
    const { allowlist } = summary
    lines.push(`Allowlist${input.cors.origins === undefined ? ' (from CORS_ORIGINS)' : ''}:`)
    const rows = [['KIND', 'ENTRY', 'NOTE']]
    if (allowlist.any) rows.push(['any', '*', 'every origin, without credentials'])
    for (const entry of allowlist.exact) rows.push(['exact', entry, ''])
    for (const entry of allowlist.wildcards) rows.push(['wildcard', entry.text, entry.publicSuffix === undefined ? '' : `on the public suffix ${entry.publicSuffix}`])
    for (const entry of allowlist.patterns) rows.push(['RegExp', entry, ''])
    lines.push(table(rows), 'Settings:', table([
      ['credentials', String(summary.credentials)],
      ['methods', summary.methods.join(', ')],
      ['allowedHeaders', summary.allowedHeaders.join(', ')],
      ['exposedHeaders', summary.exposedHeaders.join(', ') || '(none)'],
      ['maxAge', String(summary.maxAge)],
      ['cacheControl', summary.cacheControl ?? '(none)'],
      ['privateNetwork', String(summary.privateNetwork)],
      ['refusal', summary.refusal],
      ['decisionCacheSize', String(summary.decisionCacheSize)],
      ['realtime', input.realtime === undefined ? 'not checked (pass --realtime)' : `checked, allowAnyOrigin ${input.realtime.allowAnyOrigin}`]
    ]))
  }
  lines.push(...findingLines(report.findings, json))
  lines.push(exit === EXIT_OK ? paint('green', 'OK: start-up would succeed without warnings.', json) : exit === EXIT_FINDINGS ? 'Valid, with warnings.' : paint('red', 'Invalid: start-up would fail.', json))
  return print(lines.join('\n'), exit)
}

function reportExit (report: ConfigReport): number {
  if (report.config === undefined) return EXIT_USAGE
  return report.findings.length > 0 ? EXIT_FINDINGS : EXIT_OK
}

function runExplain (args: string[]): number {
  const { values, positionals } = parse(args, CONFIG_OPTIONS)
  if (values.help === true) return print(HELP.explain)
  if (positionals.length !== 1) throw new UsageError('explain takes one ORIGIN, e.g. fastify-cors-io explain https://app.example.com --origins https://app.example.com')
  const json = values.json === true
  const input = loadInput(values)
  const { report, explanation } = 'findings' in input ? { report: input, explanation: undefined } : explainOrigin(positionals[0], input.cors, input.realtime, process.env)
  if (explanation === undefined) {
    if (json) return print(JSON.stringify({ explanation: null, findings: report.findings }, null, 2), EXIT_USAGE)
    return print(findingLines(report.findings, json).join('\n'), EXIT_USAGE)
  }
  const exit = explanation.decision.allowed ? EXIT_OK : EXIT_FINDINGS
  if (json) return print(JSON.stringify({ explanation, findings: report.findings }, null, 2), exit)
  return print(explanationLines(explanation, json).join('\n'), exit)
}

function explanationLines (explanation: Explanation, json: boolean): string[] {
  const { decision } = explanation
  const rows = [['verdict', decision.allowed ? paint('green', 'allowed', json) : paint('red', 'refused', json)], ['reason', decision.reason]]
  if (decision.entry !== undefined) rows.push([decision.allowed ? 'entry' : 'resembles', decision.entry])
  if (explanation.fix !== undefined) rows.push(['log fix', explanation.fix])
  const { change } = explanation
  if (change !== undefined) {
    rows.push(['change', `add ${change.entry} to ${change.setting}, only if that origin is yours:`])
    rows.push(['', change.setting === 'CORS_ORIGINS' ? `CORS_ORIGINS=${change.origins.join(',')}` : `origins: ${JSON.stringify(change.origins)}`])
    for (const warning of change.warnings) rows.push(['then warns', warning])
  }
  if (explanation.noSafeChange !== undefined) rows.push(['change', `none is safe: ${explanation.noSafeChange}`])
  return [explanation.description, table(rows)]
}

async function runDoctor (args: string[]): Promise<number> {
  const { values, positionals } = parse(args, DOCTOR_OPTIONS)
  if (values.help === true) return print(HELP.doctor)
  if (positionals.length !== 1) throw new UsageError('doctor takes one URL, e.g. fastify-cors-io doctor http://localhost:3000/api/me --origin http://localhost:5173')
  const url = positionals[0]
  if (!/^https?:\/\//.test(url) || !URL.canParse(url)) throw new UsageError(`${url} is not an http(s) URL`)
  if (typeof values.origin !== 'string') throw new UsageError('doctor needs --origin, the origin of the page that calls the server, e.g. --origin https://app.example.com')
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout)
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1)) throw new UsageError(`--timeout ${String(values.timeout)} is not a whole number of milliseconds`)
  const json = values.json === true
  const report = await doctor({
    url,
    origin: values.origin,
    cookie: values.cookie as string | undefined,
    credentials: values.credentials === true,
    method: values.method as string | undefined,
    headers: list(values.headers),
    socketPath: values['socket-path'] as string | undefined,
    socket: values['no-socket'] !== true,
    timeoutMs: timeout
  })
  const exit = report.pass ? EXIT_OK : EXIT_FINDINGS
  if (json) return print(JSON.stringify(report, null, 2), exit)
  return print(doctorLines(report, json).join('\n'), exit)
}

const CORS_HEADERS = /^(?:access-control-|vary$|sec-websocket-accept$|upgrade$)/

function doctorLines (report: DoctorReport, json: boolean): string[] {
  const rows = [['STEP', 'RESULT', 'STATUS', 'REQUEST', 'DETAIL']]
  for (const step of report.steps) {
    const result = step.skipped !== undefined ? (step.verdict.pass ? 'skip' : 'not run') : step.verdict.pass ? 'pass' : 'FAIL'
    const detail = step.verdict.failure ?? step.verdict.note ?? step.skipped ?? ''
    rows.push([step.step, result, step.received === undefined ? '-' : String(step.received.status), `${step.sent.method} ${step.sent.url}`, detail])
  }
  const lines = [`doctor ${report.url} as a page on ${report.origin}${report.credentials ? ', with credentials' : ''}`, table(rows)]
  for (const step of report.steps) {
    if (step.skipped !== undefined) continue
    const mark = step.verdict.pass ? paint('green', '✔', json) : paint('red', '✖', json)
    lines.push('', `${mark} ${step.step}: ${step.sent.method} ${step.sent.url}`)
    lines.push(`    sent      ${Object.entries(step.sent.headers).map(([name, value]) => `${name}: ${value}`).join('; ')}`)
    if (step.received !== undefined) {
      const headers = Object.entries(step.received.headers).filter(([name]) => CORS_HEADERS.test(name)).map(([name, value]) => `${name}: ${value}`)
      lines.push(`    received  ${step.received.status}; ${headers.length === 0 ? 'no CORS headers' : headers.join('; ')}`)
    }
    if (step.verdict.failure !== undefined) lines.push(`    failure   ${step.verdict.failure}${step.verdict.detail === undefined ? '' : ` (${step.verdict.detail})`}`)
    if (step.verdict.note !== undefined) lines.push(`    note      ${step.verdict.note}`)
    if (step.messages !== undefined) {
      lines.push(`    Chrome    ${step.messages.chrome}`, `    Firefox   ${step.messages.firefox}`, `    Safari    ${step.messages.safari}`)
    }
    if (step.fix !== undefined) lines.push(`    fix       ${step.fix}`)
  }
  lines.push('', report.pass ? paint('green', 'Every step passes.', json) : paint('red', 'Some steps fail (see above).', json))
  return lines
}

function print (text: string, exit = EXIT_OK): number {
  process.stdout.write(`${text}\n`)
  return exit
}

async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'check': return runCheck(rest)
      case 'explain': return runExplain(rest)
      case 'doctor': return await runDoctor(rest)
      case undefined: case '--help': case '-h': case 'help': return print(HELP.main, command === undefined ? EXIT_USAGE : EXIT_OK)
      default: {
        const closest = closestName(command, ['check', 'explain', 'doctor'])
        throw new UsageError(`unknown command ${command}${closest === undefined ? '' : `; did you mean ${closest}?`}`)
      }
    }
  } catch (error) {
    // Anything else thrown comes from the arguments too (e.g. a --socket-path no URL can resolve).
    const hint = error instanceof UsageError ? `\nRun fastify-cors-io ${command in HELP ? `${command} ` : ''}--help for usage.` : ''
    process.stderr.write(`fastify-cors-io: ${(error as Error).message}${hint}\n`)
    return EXIT_USAGE
  }
}

process.exitCode = await main(process.argv.slice(2))
