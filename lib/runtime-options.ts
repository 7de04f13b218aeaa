import { closeSync, openSync, readSync } from 'node:fs'
import { defaultOptions, type CorsPolicyOptions, type MetricsRegistry } from './config.js'
import { CorsConfigError } from './errors.js'
import type { OriginPolicyUpdate } from './live-policy.js'

/** An allowlist file holds origins; anything larger is a wrong path (a log, a binary), refused unread. */
export const MAX_ORIGINS_FILE_BYTES = 64 * 1024
const MAX_STATS_ORIGINS = 10_000

/** How corsPolicy reloads and reports its policy: the options `update()` cannot change. */
export interface RuntimeConfig {
  readonly originsFile: string | undefined
  /** Which setting named the file, for errors: `originsFile` or `CORS_ORIGINS_FILE`. */
  readonly originsFileSetting: string
  readonly watchOriginsFile: boolean
  readonly statsOrigins: number
  readonly registry: MetricsRegistry | undefined
  /** The policy's own options, with `origins` read from the file when there is one. */
  readonly policyOptions: OriginPolicyUpdate
}

/** Validates the runtime options and reads the origins file once; throws `CorsConfigError`. */
export function resolveRuntimeOptions (options: CorsPolicyOptions, env: NodeJS.ProcessEnv): RuntimeConfig {
  const { originsFile: fileOption, watchOriginsFile = defaultOptions.watchOriginsFile, statsOrigins = defaultOptions.statsOrigins, metrics, ...policyOptions } = options
  const originsFileSetting = fileOption === undefined ? 'CORS_ORIGINS_FILE' : 'originsFile'
  const originsFile = fileOption ?? (env.CORS_ORIGINS_FILE?.trim() === '' ? undefined : env.CORS_ORIGINS_FILE)
  if (originsFile !== undefined) {
    if (typeof originsFile !== 'string' || originsFile === '') {
      throw new CorsConfigError(originsFileSetting, `${JSON.stringify(originsFile)} is not a file path`, 'pass the path of a file that lists the origins, one a line')
    }
    if (policyOptions.origins !== undefined || (env.CORS_ORIGINS ?? '').trim() !== '') {
      throw new CorsConfigError(originsFileSetting, `is set together with ${policyOptions.origins !== undefined ? 'origins' : 'CORS_ORIGINS'}, so two places would name the allowlist`,
        'keep the list in one place: the file (reloadable), or origins/CORS_ORIGINS')
    }
    policyOptions.origins = readOriginsFile(originsFile, originsFileSetting)
  }
  if (typeof watchOriginsFile !== 'boolean') throw new CorsConfigError('watchOriginsFile', `${String(watchOriginsFile)} is not a boolean`, 'pass true or false')
  if (!Number.isInteger(statsOrigins) || statsOrigins < 1 || statsOrigins > MAX_STATS_ORIGINS) {
    throw new CorsConfigError('statsOrigins', `${String(statsOrigins)} is not a whole number from 1 to ${MAX_STATS_ORIGINS}`, `use e.g. ${defaultOptions.statsOrigins}`)
  }
  const registry = metrics?.registry
  if (metrics !== undefined && (typeof registry?.registerMetric !== 'function' || typeof registry.removeSingleMetric !== 'function')) {
    throw new CorsConfigError('metrics', 'needs `registry`, a prom-client Registry', 'pass `metrics: { registry: new Registry() }` (or prom-client\'s `register`), or leave metrics out')
  }
  return Object.freeze({ originsFile, originsFileSetting, watchOriginsFile, statsOrigins, registry, policyOptions })
}

/**
 * Reads an allowlist file at most `MAX_ORIGINS_FILE_BYTES` long: entries separated by newlines or
 * commas, as in `CORS_ORIGINS`; `#` starts a comment (no origin contains one).
 */
export function readOriginsFile (path: string, setting: string): string {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    throw new CorsConfigError(setting, `${path} cannot be opened (${(error as NodeJS.ErrnoException).code})`, 'check the path and that the server may read it')
  }
  try {
    const buffer = Buffer.alloc(MAX_ORIGINS_FILE_BYTES + 1)
    const length = readSync(fd, buffer, 0, buffer.length, 0)
    if (length > MAX_ORIGINS_FILE_BYTES) {
      throw new CorsConfigError(setting, `${path} is larger than ${MAX_ORIGINS_FILE_BYTES} bytes, more than any allowlist`, 'check the path: the file lists origins, one a line')
    }
    return buffer.toString('utf8', 0, length).split('\n').map((line) => line.replace(/#.*/, '')).join(',')
  } finally {
    closeSync(fd)
  }
}
