import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Debian's package; the tests never download a browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium'

// Without the background-networking flags Chromium keeps calling hosts that a
// closed network refuses, which slows every test down.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

/**
 * Why the browser tests cannot run, or `undefined` when they can. On CI a
 * missing browser is an error, never a skip, so the suite cannot pass without
 * having run them.
 */
export function chromiumSkipReason (executablePath: string, env: NodeJS.ProcessEnv): string | undefined {
  if (existsSync(executablePath)) return undefined
  if (env.CI === 'true') {
    throw new Error(`CI=true but Chromium is missing at ${executablePath}; .ci/run installs it with apt-get`)
  }
  return `!!! BROWSER TESTS SKIPPED: Chromium is missing at ${executablePath}. Install it (apt-get install chromium) to run them; with CI=true they fail instead.`
}

export async function launchChromium (): Promise<Browser> {
  return await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS })
}
