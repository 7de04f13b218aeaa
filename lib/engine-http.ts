import { STATUS_CODES } from 'node:http'
import type { CorsAnswer } from './origin-policy.js'

/**
 * Matches request URLs that engine.io serves under `path` (default `/socket.io`), the way
 * engine.io's own `attach()` does: by prefix, trailing slash included.
 */
export function engineUrlMatcher (path: string): (url: string | undefined) => boolean {
  const prefix = `${path.replace(/\/+$/, '')}/`
  return (url) => url !== undefined && url.startsWith(prefix)
}

/**
 * The raw HTTP/1.1 response written on a socket whose upgrade is refused: engine.io itself can only
 * answer 400 there, while RFC 6455 §10.2 asks for 403.
 */
export function rawHttpResponse (answer: CorsAnswer): string {
  const lines = [`HTTP/1.1 ${answer.statusCode} ${STATUS_CODES[answer.statusCode]}`, 'Connection: close', `Content-Length: ${Buffer.byteLength(answer.body)}`]
  for (const [name, value] of Object.entries(answer.headers)) lines.push(`${name}: ${value}`)
  return `${lines.join('\r\n')}\r\n\r\n${answer.body}`
}
