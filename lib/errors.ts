/**
 * Thrown at registration when the configuration cannot be turned into a safe policy.
 * The message names the offending setting, the rule it breaks and the fix.
 */
export class CorsConfigError extends Error {
  readonly code = 'FST_CORS_IO_INVALID_CONFIG'
  readonly setting: string
  readonly problem: string
  readonly fix: string

  constructor (setting: string, problem: string, fix: string) {
    super(`${setting}: ${problem}. Fix: ${fix}.`)
    this.name = 'CorsConfigError'
    this.setting = setting
    this.problem = problem
    this.fix = fix
  }
}
