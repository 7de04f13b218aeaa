import { CorsConfigError } from '../../lib/errors.js'

/** Runs `fn`, expecting a CorsConfigError, and returns it for closer checks. */
export function configError (fn: () => unknown): CorsConfigError {
  try {
    fn()
  } catch (error) {
    if (error instanceof CorsConfigError) return error
    throw error
  }
  throw new Error('expected a CorsConfigError, nothing was thrown')
}
