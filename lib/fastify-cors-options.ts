import { CorsConfigError } from './errors.js'

/**
 * The option names of @fastify/cors (its README and `index.js` `defaultOptions`) that corsPolicy
 * has no option for. Each is accepted with the value whose meaning corsPolicy already has, or refused
 * with the reason and what to use instead; @fastify/cors's other names (`methods`, `allowedHeaders`,
 * `exposedHeaders`, `credentials`, `maxAge`, `cacheControl`, `hideOptionsRoute`, `logLevel`) are
 * options here with the same meaning (docs/migrating.md lists the differences in defaults).
 */
export const FASTIFY_CORS_ONLY: readonly string[] = Object.freeze(['origin', 'delegator', 'hook', 'preflight', 'strictPreflight', 'preflightContinue', 'optionsSuccessStatus'])

/** The value of each @fastify/cors option that means what corsPolicy always does. */
const SAME_MEANING: Readonly<Record<string, unknown>> = Object.freeze({ hook: 'onRequest', preflight: true, preflightContinue: false, optionsSuccessStatus: 204 })

const ORIGINS_FUNCTION = 'use an `origins` function (see docs/options.md)'

/** Why each refused option (or value) cannot be honoured, and the fix. */
const REFUSALS: Readonly<Record<string, readonly [problem: string, fix: string]>> = Object.freeze({
  delegator: ['@fastify/cors\'s options-per-request function has no place here: corsPolicy compiles its options once, at registration, so that each one is checked before the first request',
    `${ORIGINS_FUNCTION} for origins decided per request, and \`config: { cors: { … } }\` on a route for options per route`],
  hook: ['it would move the CORS decision out of onRequest; corsPolicy decides there, before body parsing, validation and any auth hook, so that a refused origin\'s request reaches none of them',
    'remove `hook` (only "onRequest" is accepted)'],
  preflight: ['it would leave preflights to the routes; corsPolicy always answers them itself, before any handler or auth hook, since a preflight carries no credentials (Fetch standard, "CORS-preflight request")',
    'remove `preflight`; to turn CORS off on a route, give it `config: { cors: false }`'],
  strictPreflight: ['it has no meaning here: an OPTIONS request without Origin or Access-Control-Request-Method is not a preflight (Fetch standard, "CORS-preflight request") and is routed like any other request (a 404 where no OPTIONS route exists), never answered 400',
    'remove `strictPreflight`'],
  preflightContinue: ['it would pass a granted preflight on to the route\'s OPTIONS handler and every later hook; corsPolicy answers it at once (204), so no handler ever runs for a request that carries no credentials',
    'remove `preflightContinue`; OPTIONS requests that are not preflights still reach your OPTIONS routes'],
  optionsSuccessStatus: ['a preflight is always answered 204 here: any 2xx passes the browser\'s CORS check (Fetch standard, "CORS check"), and 204 carries no body (RFC 9110 §15.3.5); 200 was a workaround for Internet Explorer 11 and old smart TVs',
    'remove `optionsSuccessStatus`']
})

/**
 * Checks an @fastify/cors-only option (a name of `FASTIFY_CORS_ONLY`): returns when its value means
 * what corsPolicy does anyway, throws a `CorsConfigError` saying why and what to use otherwise.
 * `where` prefixes the setting (`''` for the plugin, `route GET /x: config.cors.` for a route).
 */
export function checkFastifyCorsOption (where: string, name: string, value: unknown): void {
  if (name in SAME_MEANING && SAME_MEANING[name] === value) return
  if (name === 'origin') throw originError(`${where}origin`, value)
  const [problem, fix] = REFUSALS[name]!
  throw new CorsConfigError(`${where}${name}`, `${describe(value)} is refused: ${problem}`, fix)
}

function originError (setting: string, value: unknown): CorsConfigError {
  if (value === true) {
    return new CorsConfigError(setting, 'true reflects every Origin back as allowed, so any site reads the responses (with credentials, your users\' data: OWASP WSTG-CLNT-07); corsPolicy never reflects an origin it was not given',
      'list the origins you trust in `origins`, or use `origins: \'*\'` for public data without credentials')
  }
  if (value === false) {
    return new CorsConfigError(setting, 'false turns CORS off; corsPolicy turns it off per route instead',
      'give the routes without CORS `config: { cors: false }`, or do not register corsPolicy in their context')
  }
  if (typeof value === 'function') return new CorsConfigError(setting, 'is a function, which corsPolicy calls `origins`', ORIGINS_FUNCTION)
  return new CorsConfigError(setting, 'is called `origins` here (the same entries; a RegExp must match the whole origin, see docs/migrating.md)', 'rename it to `origins`')
}

function describe (value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'function' ? 'a function' : String(value)
}
