/**
 * Which of a few registered route patterns a concrete path was routed to, given the parameters the
 * router matched (Fastify's `findRoute()` returns them, but not the pattern). A preflight names its
 * target only by path and `Access-Control-Request-Method` (Fetch standard, "CORS-preflight request"),
 * so this is how it finds the CORS config of the route it asks about. Framework-free: the router's
 * path options are passed in.
 */

export interface PathOptions {
  /** find-my-way `caseSensitive` (Fastify's default `true`). */
  readonly caseSensitive: boolean
  /** find-my-way `ignoreTrailingSlash` (default `false`). */
  readonly ignoreTrailingSlash: boolean
  /** find-my-way `ignoreDuplicateSlashes` (default `false`). */
  readonly ignoreDuplicateSlashes: boolean
}

type Part = string | { readonly param: string, readonly optional: boolean }

interface Candidate<T> {
  readonly parts: readonly Part[]
  readonly value: T
}

/**
 * Route patterns per method, each with a value. Lookups scan only the patterns of one method that
 * were added (routes with their own CORS config), so their cost is linear in those and bounded by them.
 */
export class RoutePatterns<T> {
  readonly #options: PathOptions
  readonly #byMethod = new Map<string, Array<Candidate<T>>>()

  constructor (options: PathOptions) {
    this.#options = options
  }

  get size (): number {
    return this.#byMethod.size
  }

  add (method: string, pattern: string, value: T): void {
    let candidates = this.#byMethod.get(method)
    if (candidates === undefined) this.#byMethod.set(method, candidates = [])
    candidates.push({ parts: parsePattern(pattern), value })
  }

  /**
   * The value of the pattern that, filled with `params`, spells `path` (its query cut off). The
   * router's params identify the pattern among these: a pattern with other parameter names, or other
   * static text, cannot spell the same path with them.
   */
  lookup (method: string, path: string, params: Readonly<Record<string, string | undefined>>): T | undefined {
    const candidates = this.#byMethod.get(method)
    if (candidates === undefined) return undefined
    const target = this.#normalize(decodePath(path))
    for (const candidate of candidates) {
      const spelt = render(candidate.parts, params)
      if (spelt !== undefined && this.#normalize(spelt) === target) return candidate.value
    }
    return undefined
  }

  #normalize (path: string): string {
    let normalized = this.#options.ignoreDuplicateSlashes ? path.replace(/\/{2,}/g, '/') : path
    if (this.#options.ignoreTrailingSlash && normalized.length > 1 && normalized.endsWith('/')) normalized = normalized.slice(0, -1)
    return this.#options.caseSensitive ? normalized : normalized.toLowerCase()
  }
}

/**
 * find-my-way's pattern syntax: `:name` up to `/`, `-`, `.`, `(` or `?`, an optional `(RegExp)` after it,
 * a trailing `?` for an optional last parameter, `::` for a literal colon, and `*` for the rest.
 */
function parsePattern (pattern: string): Part[] {
  const parts: Part[] = []
  let text = ''
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]
    if (char === ':' && pattern[i + 1] === ':') {
      text += ':'
      i++
    } else if (char === ':') {
      let end = i + 1
      while (end < pattern.length && !'/-.(?'.includes(pattern[end]!)) end++
      const name = pattern.slice(i + 1, end)
      if (pattern[end] === '(') end = closingParenthesis(pattern, end) + 1
      const optional = pattern[end] === '?'
      if (text !== '') parts.push(text)
      text = ''
      parts.push({ param: name, optional })
      i = optional ? end : end - 1
    } else if (char === '*') {
      if (text !== '') parts.push(text)
      text = ''
      parts.push({ param: '*', optional: true })
    } else {
      text += char
    }
  }
  if (text !== '') parts.push(text)
  return parts
}

function closingParenthesis (pattern: string, open: number): number {
  let depth = 0
  for (let i = open; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++
    else if (pattern[i] === '(') depth++
    else if (pattern[i] === ')' && --depth === 0) return i
  }
  return pattern.length - 1
}

function render (parts: readonly Part[], params: Readonly<Record<string, string | undefined>>): string | undefined {
  let path = ''
  for (const part of parts) {
    if (typeof part === 'string') {
      path += part
      continue
    }
    const value = params[part.param]
    if (value !== undefined) path += value
    // An optional parameter left out takes its slash with it (find-my-way registers both forms).
    else if (part.optional) path = part.param === '*' ? path : path.replace(/\/$/, '')
    else return undefined
  }
  return path
}

/** The path as the router matched it: without the query, percent-decoded where that is valid. */
function decodePath (url: string): string {
  const query = url.indexOf('?')
  const path = query === -1 ? url : url.slice(0, query)
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}
