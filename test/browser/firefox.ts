import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Browser } from 'puppeteer-core'

// puppeteer-core's CommonJS build: its ESM build imports chromium-bidi by a path that the tests'
// TypeScript loader resolves to `BidiMapper.js.js`, which does not exist.
const puppeteer = createRequire(import.meta.url)('puppeteer-core') as typeof import('puppeteer-core')

/** Debian's firefox-esr; puppeteer-core 24 drives it over WebDriver BiDi, and never downloads a browser. */
export const FIREFOX_PATH = '/usr/bin/firefox-esr'

/** Why the Firefox tests cannot run, or `undefined`; on CI a missing Firefox is an error, never a skip. */
export function firefoxSkipReason (executablePath: string, env: NodeJS.ProcessEnv): string | undefined {
  if (existsSync(executablePath)) return undefined
  if (env.CI === 'true') throw new Error(`CI=true but Firefox is missing at ${executablePath}; install it with apt-get install firefox-esr`)
  return `!!! FIREFOX TESTS SKIPPED: Firefox is missing at ${executablePath}. Install it (apt-get install firefox-esr) to run them; with CI=true they fail instead.`
}

export async function launchFirefox (): Promise<Browser> {
  return await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX_PATH, headless: true })
}
