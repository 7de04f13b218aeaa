import { randomBytes } from 'node:crypto'

/** fastify-cli listens on this port when neither `PORT` nor `-p` is given. */
export const DEFAULT_PORT = 3000

export interface ExampleConfig {
  port: number
  /**
   * The allowlist handed to the CORS plugin, or `undefined` to let the plugin
   * read `CORS_ORIGINS` itself (an explicit list would override it).
   */
  origins: string[] | undefined
  cookieSecret: string
}

/**
 * Without configuration the app trusts only the two origins a browser uses to
 * reach it on this machine. The app's own pages need their origin listed: the
 * browser sends `Origin` on their POSTs and WebSocket upgrades.
 */
export function readExampleConfig (env: NodeJS.ProcessEnv): ExampleConfig {
  const port = env.PORT === undefined || env.PORT === '' ? DEFAULT_PORT : Number(env.PORT)
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`PORT must be an integer from 1 to 65535, got ${JSON.stringify(env.PORT)}`)
  }
  const configuredOrigins = env.CORS_ORIGINS !== undefined && env.CORS_ORIGINS.trim() !== ''
  return {
    port,
    origins: configuredOrigins ? undefined : [`http://localhost:${port}`, `http://127.0.0.1:${port}`],
    // Sessions live in memory, so a secret that changes on restart only logs everybody out.
    cookieSecret: env.COOKIE_SECRET ?? randomBytes(32).toString('base64url')
  }
}
