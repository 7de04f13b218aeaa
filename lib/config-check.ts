import { cookieWarnings, refuseEntriesAnySiteCanUse, resolveCorsConfig, type CorsConfig, type CorsPolicyOptions } from './config.js'
import { CorsConfigError } from './errors.js'

/** The options of the realtime plugin that bear on origins, the part of its validation that needs no server. */
export interface RealtimeOriginOptions {
  /** realtime's `allowAnyOrigin` (default `false`). */
  readonly allowAnyOrigin: boolean
}

/** One thing start-up would report: an error stops it, a warning is logged at warn. */
export interface ConfigFinding {
  readonly plugin: 'corsPolicy' | 'realtime'
  readonly severity: 'error' | 'warning'
  readonly message: string
  /** Errors only: the setting at fault and the change that fixes it (`CorsConfigError`). */
  readonly setting?: string
  readonly fix?: string
}

export interface ConfigReport {
  /** The resolved configuration, unless an error stops start-up. */
  readonly config?: CorsConfig
  readonly findings: readonly ConfigFinding[]
}

/**
 * The origin rules the realtime plugin adds to corsPolicy's, as its registration applies them: throws
 * `CorsConfigError` where registration fails, and returns the warnings the plugin logs (those corsPolicy
 * has not logged already).
 */
export function realtimeOriginWarnings (config: CorsConfig, { allowAnyOrigin }: RealtimeOriginOptions): string[] {
  if (config.allowlist.any !== allowAnyOrigin) {
    throw allowAnyOrigin
      ? new CorsConfigError('allowAnyOrigin', 'is set, but the origins of corsPolicy are not "*"', 'remove allowAnyOrigin')
      : new CorsConfigError('origins', '"*" with the realtime plugin: browsers send cookies on every WebSocket upgrade whatever CORS says, so any site could open a socket as your signed-in user',
        'list the origins you trust in corsPolicy; or, if no socket is authenticated by cookies, pass `allowAnyOrigin: true` to realtime')
  }
  refuseEntriesAnySiteCanUse(config.allowlist, 'with the realtime plugin (browsers send cookies on every WebSocket upgrade whatever CORS says)')
  const warnings: string[] = []
  if (config.refusal === 'report-only') {
    warnings.push('REPORT-ONLY: Socket.IO handshakes, polling requests and WebSocket upgrades from origins the allowlist would refuse are SERVED (with the user\'s cookies) and only logged and counted as "would refuse"; live sockets are not disconnected by updates; set corsPolicy\'s refusal: \'block\' once the reports are clean')
  }
  if (allowAnyOrigin) {
    warnings.push('allowAnyOrigin: any site can open a socket to this server, and browsers send the user\'s cookies with WebSocket upgrades; authenticate sockets by a token in `auth`, never by cookies')
  }
  for (const warning of cookieWarnings(config.allowlist)) {
    if (!config.warnings.includes(warning)) warnings.push(`WebSocket upgrades carry cookies whatever CORS says: ${warning}`)
  }
  return warnings
}

/**
 * What the plugins decide at start-up for these options, without starting anything: corsPolicy's
 * resolution (`resolveCorsConfig`), then, when the app registers realtime too, its origin rules
 * (`realtimeOriginWarnings`). The same functions the plugins call, so the verdict cannot drift from theirs.
 * Start-up stops at the first error, and so does this report.
 */
export function checkConfiguration (cors: CorsPolicyOptions, realtime: RealtimeOriginOptions | undefined, env: NodeJS.ProcessEnv): ConfigReport {
  const findings: ConfigFinding[] = []
  let plugin: ConfigFinding['plugin'] = 'corsPolicy'
  try {
    const config = resolveCorsConfig(cors, env)
    findings.push(...config.warnings.map((message) => warning(plugin, message)))
    plugin = 'realtime'
    if (realtime !== undefined) findings.push(...realtimeOriginWarnings(config, realtime).map((message) => warning(plugin, message)))
    return { config, findings }
  } catch (error) {
    if (!(error instanceof CorsConfigError)) throw error
    return { findings: [...findings, errorFinding(error, plugin)] }
  }
}

/** A configuration error as a finding: its setting, the rule it breaks and the fix apart. */
export function errorFinding (error: CorsConfigError, plugin: ConfigFinding['plugin']): ConfigFinding {
  return { plugin, severity: 'error', message: error.problem, setting: error.setting, fix: error.fix }
}

function warning (plugin: ConfigFinding['plugin'], message: string): ConfigFinding {
  return { plugin, severity: 'warning', message }
}

/** A resolved configuration as plain JSON (sets as arrays, RegExps as their text), for tools and `--json`. */
export interface ConfigSummary {
  readonly allowlist: {
    readonly any: boolean
    readonly exact: readonly string[]
    readonly wildcards: ReadonlyArray<{ readonly text: string, readonly publicSuffix?: string }>
    readonly patterns: readonly string[]
  }
  readonly credentials: boolean
  readonly methods: readonly string[]
  readonly allowedHeaders: readonly string[]
  readonly exposedHeaders: readonly string[]
  readonly maxAge: number
  readonly cacheControl: string | null
  readonly privateNetwork: boolean
  readonly refusal: string
  readonly decisionCacheSize: number
}

export function summarizeConfig (config: CorsConfig): ConfigSummary {
  const { allowlist, warnings, cacheControl, ...settings } = config
  return {
    allowlist: {
      any: allowlist.any,
      exact: [...allowlist.exact],
      wildcards: allowlist.wildcards.map(({ text, publicSuffix }) => publicSuffix === undefined ? { text } : { text, publicSuffix }),
      patterns: allowlist.patterns.map((pattern) => pattern.text)
    },
    ...settings,
    cacheControl: cacheControl ?? null
  }
}
