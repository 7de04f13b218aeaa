import { randomBytes } from 'node:crypto'
import type { RefusalMode } from '../index.js'
import { SESSION_MAX_AGE_SECONDS, SESSION_TTL_LIMIT_SECONDS } from './sessions.js'

/** fastify-cli listens on this port when neither `PORT` nor `-p` is given. */
export const DEFAULT_PORT = 3000

export interface ExampleConfig {
  port: number
  /**
   * The allowlist handed to the CORS plugin, or `undefined` to let the plugin
   * read `CORS_ORIGINS` itself (an explicit list would override it).
   */
  origins: string[] | undefined
  /** corsPolicy's `refusal` from `CORS_REFUSAL` (e.g. `report-only` for a roll-out), or its default. */
  refusal: RefusalMode | undefined
  cookieSecret: string
  /** How long a login lasts; when it ends, the session's live sockets are disconnected. */
  sessionTtlSeconds: number
}

function integerSetting (env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  const value = raw === undefined || raw === '' ? fallback : Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`)
  }
  return value
}

/**
 * Without configuration the app trusts only the two origins a browser uses to
 * reach it on this machine. The app's own pages need their origin listed: the
 * browser sends `Origin` on their POSTs and WebSocket upgrades.
 */
export function readExampleConfig (env: NodeJS.ProcessEnv): ExampleConfig {
  const port = integerSetting(env, 'PORT', DEFAULT_PORT, 1, 65535)
  // The plugin reads CORS_ORIGINS or CORS_ORIGINS_FILE itself; an explicit list would conflict with either.
  const configuredOrigins = [env.CORS_ORIGINS, env.CORS_ORIGINS_FILE].some((value) => value !== undefined && value.trim() !== '')
  return {
    port,
    origins: configuredOrigins ? undefined : [`http://localhost:${port}`, `http://127.0.0.1:${port}`],
    // corsPolicy validates it (a CorsConfigError at start-up names the modes).
    refusal: env.CORS_REFUSAL === undefined || env.CORS_REFUSAL === '' ? undefined : env.CORS_REFUSAL as RefusalMode,
    // Sessions live in memory, so a secret that changes on restart only logs everybody out.
    cookieSecret: env.COOKIE_SECRET ?? randomBytes(32).toString('base64url'),
    sessionTtlSeconds: integerSetting(env, 'SESSION_TTL_SECONDS', SESSION_MAX_AGE_SECONDS, 1, SESSION_TTL_LIMIT_SECONDS)
  }
}
