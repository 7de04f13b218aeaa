import { fastifyCookie, type FastifyCookieOptions, type UnsignResult } from '@fastify/cookie'
import type { FastifyInstance } from 'fastify'
import { closestName } from '../lib/closest-name.js'
import { CorsConfigError } from '../lib/errors.js'

/** How handshake cookies are read: parsed, and unsigned where a secret is known. */
export interface CookieReader {
  parse: (header: string) => Record<string, string>
  /** Absent without a secret: then no cookie counts as signed. */
  unsign?: (value: string) => UnsignResult
}

/** The `cookiePlugin` keys that reading cookies uses; `hook` has no meaning there. */
const READER_OPTIONS = ['secret', 'algorithm', 'parseOptions']

/** Checks `cookiePlugin` at registration (a bad secret or algorithm fails here, not on the first handshake). */
export function checkCookieOptions (options: FastifyCookieOptions): void {
  for (const key of Object.keys(options)) {
    if (!READER_OPTIONS.includes(key)) {
      const closest = closestName(key, READER_OPTIONS)
      throw new CorsConfigError(`cookiePlugin.${key}`, 'is not used: realtime reads handshake cookies with @fastify/cookie in a context of its own, which parses no request\'s cookies',
        closest === undefined ? `remove it; cookiePlugin takes ${READER_OPTIONS.join(', ')}` : `rename it to \`${closest}\``)
    }
  }
  const { secret, algorithm } = options
  try {
    if (secret !== undefined && typeof (secret as { unsign?: unknown }).unsign !== 'function') fastifyCookie.signerFactory(secret as string, algorithm)
  } catch (error) {
    throw new CorsConfigError('cookiePlugin', `${(error as Error).message.replace(/\.$/, '')} (@fastify/cookie's signer)`, 'pass as secret a string, a Buffer or an array of them, and an algorithm Node\'s crypto supports, e.g. "sha256"')
  }
}

/**
 * A reader from @fastify/cookie registered with the `cookiePlugin` options in a context of its own:
 * its decorators stay there, so the host may still register @fastify/cookie after realtime (registering
 * it where realtime is made that fail with FST_ERR_DEC_ALREADY_PRESENT). `hook: false`: that context
 * has no route whose cookies it would parse.
 */
export async function ownCookieReader (fastify: FastifyInstance, options: FastifyCookieOptions): Promise<CookieReader> {
  let reader: CookieReader | undefined
  await fastify.register(async (own) => {
    await own.register(fastifyCookie, { ...options, hook: false })
    reader = readerOf(own)
  })
  return reader!
}

/**
 * The host's @fastify/cookie when it is registered where realtime is, before or after it (its secret
 * and parse options), else `own`. Called when the app is ready, once every plugin is in.
 */
export function cookieReader (fastify: FastifyInstance, own: CookieReader | undefined, explicit: boolean): CookieReader {
  if (!fastify.hasDecorator('parseCookie')) return own!
  if (explicit) {
    throw new CorsConfigError('cookiePlugin', 'is given, but the host registers @fastify/cookie too, whose secret and parse options realtime then uses',
      'give the secret to @fastify/cookie only, and remove cookiePlugin')
  }
  return readerOf(fastify)
}

/** Reads through the instance's decorators at each call, so a host that wraps them is followed. */
function readerOf (instance: FastifyInstance): CookieReader {
  return {
    parse: (header) => instance.parseCookie(header) as Record<string, string>,
    unsign: instance.hasDecorator('unsignCookie') ? (value) => instance.unsignCookie(value) : undefined
  }
}
