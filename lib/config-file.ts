import type { AllowlistEntry } from './allowlist.js'
import { closestName } from './closest-name.js'
import type { RealtimeOriginOptions } from './config-check.js'
import type { CorsPolicyOptions } from './config.js'
import { CorsConfigError } from './errors.js'

/** The options the CLI checks: corsPolicy's, and realtime's origin-related ones when the app registers it. */
export interface CheckInput {
  readonly cors: CorsPolicyOptions
  readonly realtime?: RealtimeOriginOptions
}

const SECTIONS = ['corsPolicy', 'realtime']
const REALTIME_OPTIONS = ['allowAnyOrigin']
const REGEXP_TEXT = /^\/(.+)\/([a-z]*)$/s

/**
 * An allowlist entry as text, from a command line or a JSON file, where a RegExp cannot be written as
 * such: `/source/flags` is that RegExp, anything else the string itself (which the allowlist then
 * validates as it validates any entry). `CORS_ORIGINS` is never read this way: the plugin does not.
 */
export function entryFromText (text: string): AllowlistEntry {
  const parts = REGEXP_TEXT.exec(text)
  if (parts === null) return text
  try {
    return new RegExp(parts[1], parts[2])
  } catch (error) {
    throw new CorsConfigError(`origins entry ${text}`, `is not a valid RegExp (${(error as Error).message})`, 'fix the pattern, or write an exact origin such as "https://app.example.com"')
  }
}

/**
 * A check file: `{ "corsPolicy": { …options }, "realtime": { "allowAnyOrigin": false } }`, where origins are
 * strings as `entryFromText` reads them. A `realtime` section means the app registers the realtime plugin.
 * The options themselves are validated later, by the plugins' own functions.
 */
export function parseConfigFile (text: string, source: string): CheckInput {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new CorsConfigError(source, `is not JSON (${(error as Error).message})`, 'write { "corsPolicy": { "origins": ["https://app.example.com"] } }')
  }
  const file = section(parsed, source)
  for (const key of Object.keys(file)) refuseUnknown(`${source}: ${key}`, key, SECTIONS, 'is not a section of a check file')
  const cors = section(file.corsPolicy ?? {}, `${source}: corsPolicy`) as CorsPolicyOptions & Record<string, unknown>
  const origins = Array.isArray(cors.origins) ? cors.origins.map((entry: unknown) => typeof entry === 'string' ? entryFromText(entry) : entry as AllowlistEntry) : cors.origins
  const options: CorsPolicyOptions = origins === undefined ? cors : { ...cors, origins }
  if (file.realtime === undefined) return { cors: options }
  const realtime = section(file.realtime, `${source}: realtime`)
  for (const key of Object.keys(realtime)) refuseUnknown(`${source}: realtime.${key}`, key, REALTIME_OPTIONS, 'is not an origin option of realtime (the only ones a check can judge without the app)')
  const allowAnyOrigin = realtime.allowAnyOrigin ?? false
  if (typeof allowAnyOrigin !== 'boolean') throw new CorsConfigError('allowAnyOrigin', `${JSON.stringify(allowAnyOrigin)} is not a boolean`, 'pass true or false')
  return { cors: options, realtime: { allowAnyOrigin } }
}

function section (value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CorsConfigError(where, `is ${JSON.stringify(value)}, not an object`, 'write an object such as { "origins": ["https://app.example.com"] }')
  }
  return value as Record<string, unknown>
}

function refuseUnknown (setting: string, key: string, known: readonly string[], problem: string): void {
  if (known.includes(key)) return
  const closest = closestName(key, known)
  throw new CorsConfigError(setting, problem, closest === undefined ? `remove it; the known names are ${known.join(', ')}` : `rename it to \`${closest}\``)
}
