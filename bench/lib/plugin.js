// Load the compiled library (dist/) if it has been built; the harness runs the
// baselines without it and marks the plugin rows as SKIP.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { benchDir } from './proc.js'

export const distEntry = path.resolve(benchDir, '..', 'dist', 'index.js')

export async function loadPlugin () {
  if (!existsSync(distEntry)) return { mod: null, reason: 'dist/index.js not built' }
  try {
    const mod = await import(pathToFileURL(distEntry).href)
    const missing = ['corsPolicy', 'realtime', 'createOriginPolicy'].filter((k) => !mod[k])
    if (missing.length) return { mod: null, reason: `dist/index.js lacks ${missing.join(', ')}` }
    return { mod, reason: null }
  } catch (err) {
    return { mod: null, reason: `dist/index.js failed to load: ${err.message}` }
  }
}

// The default policy used by the plugin variants of the HTTP and socket benchmarks:
// one entry of each kind, as in the README example.
export function defaultOrigins () {
  return ['https://a.example', 'https://*.example.org', /^https:\/\/app-\d+\.example\.net$/]
}

export const ALLOWED_ORIGIN = 'https://a.example'
export const REFUSED_ORIGIN = 'https://evil.example'

// A long exact-origin allowlist; the allowed test origin is its last entry
// (the worst case for a list scanned entry by entry).
export function exactList (n, prefix = 'host') {
  const list = []
  for (let i = 0; i < n; i++) list.push(`https://${prefix}-${i}.example.com`)
  return list
}
