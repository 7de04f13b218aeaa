import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { WebDriver } from 'selenium-webdriver'
import { within } from '../helpers/realtime.js'
import type { EvaluatingPage } from './client-page.js'
import { releasedPort } from './example-process.js'

const { Builder } = createRequire(import.meta.url)('selenium-webdriver') as typeof import('selenium-webdriver')

/** Debian's webkit2gtk-driver and the MiniBrowser of libwebkit2gtk-4.1-0, under an Xvfb display. */
export const WEBKIT_DRIVER_PATH = '/usr/bin/WebKitWebDriver'
export const MINIBROWSER_PATH = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/webkit2gtk-4.1/MiniBrowser`
export const XVFB_PATH = '/usr/bin/Xvfb'

/** Why the WebKit tests cannot run, or `undefined`; on CI a missing program is an error, never a skip. */
export function webkitSkipReason (paths: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  const missing = paths.filter((path) => !existsSync(path))
  if (missing.length === 0) return undefined
  if (env.CI === 'true') throw new Error(`CI=true but WebKit is missing (${missing.join(', ')}); install it with apt-get install webkit2gtk-driver xvfb`)
  return `!!! WEBKIT TESTS SKIPPED: missing ${missing.join(', ')}. Install them (apt-get install webkit2gtk-driver xvfb) to run them; with CI=true they fail instead.`
}

export interface WebKit {
  driver: WebDriver
  close: () => Promise<void>
}

/**
 * Starts Xvfb (on a display it picks itself, `-displayfd`), WebKitWebDriver by its path (so Selenium
 * Manager never runs) and a MiniBrowser session in automation mode.
 */
export async function launchWebKit (): Promise<WebKit> {
  const children: ChildProcess[] = []
  const stop = async (): Promise<void> => {
    for (const child of children.reverse()) if (child.exitCode === null) child.kill('SIGTERM')
  }
  try {
    const xvfb = spawn(XVFB_PATH, ['-displayfd', '1', '-nolisten', 'tcp'], { stdio: ['ignore', 'pipe', 'ignore'] })
    children.push(xvfb)
    const display = await within(new Promise<string>((resolve) => { xvfb.stdout.once('data', (chunk: Buffer) => { resolve(chunk.toString().trim()) }) }), 'Xvfb to pick a display', 10_000)
    const port = await releasedPort()
    const driverProcess = spawn(WEBKIT_DRIVER_PATH, [`--port=${port}`], { stdio: 'ignore', env: { ...process.env, DISPLAY: `:${display}` } })
    children.push(driverProcess)
    const driver = await within((async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await new Builder().usingServer(`http://127.0.0.1:${port}`).withCapabilities({
            browserName: 'MiniBrowser',
            'webkitgtk:browserOptions': { binary: MINIBROWSER_PATH, args: ['--automation'] }
          }).build()
        } catch (error) {
          if (attempt === 50) throw error
          await new Promise((resolve) => setTimeout(resolve, 100)) // the driver is not listening yet
        }
      }
    })(), 'a WebKit session', 30_000)
    await driver.manage().setTimeouts({ script: 30_000 })
    return { driver, close: async () => { await driver.quit().catch(() => {}); await stop() } }
  } catch (error) {
    await stop()
    throw error
  }
}

/** A WebDriver session as the client driver's page: `evaluate` runs as an async script (awaiting its promise). */
export function evaluatingPage (driver: WebDriver): EvaluatingPage {
  return {
    evaluate: async <R, A>(fn: ((arg: A) => R | Promise<R>) | string, arg?: A): Promise<R> => {
      const source = typeof fn === 'string' ? `() => (${fn})` : fn.toString()
      const result = await driver.executeAsyncScript(`const done = arguments[arguments.length - 1];
        Promise.resolve().then(() => (${source})(arguments[0])).then((value) => done({ value }), (error) => done({ error: String(error) }))`, arg) as { value?: R, error?: string }
      if (result.error !== undefined) throw new Error(`in WebKit: ${result.error}`)
      return result.value as R
    }
  }
}
