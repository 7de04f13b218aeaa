import type { Dashboard, DashboardStatus, DiagnoseReport, DiagnoseStep, RetryOptions } from '../../client/index.js'
import type { Test } from 'tap'
import { within } from '../helpers/realtime.js'

declare global {
  interface Window {
    /** The page's `connectDashboard()` result, every status it went through, and the first payload of each watched event. */
    dashboardUnderTest: Dashboard
    statesUnderTest: DashboardStatus[]
    eventsUnderTest: Record<string, unknown>
  }
}

/** Events whose first payload the page keeps from the start, so none arrives before its listener. */
const WATCHED = ['browser:cpu', 'dashboard:alerts']

export interface ClientPage {
  /** Waits (bounded) until the page's status satisfies `predicate`, which runs in the page; returns that status. */
  until: (predicate: (status: DashboardStatus) => boolean, what: string) => Promise<DashboardStatus>
  states: () => Promise<DashboardStatus[]>
  diagnose: () => Promise<DiagnoseReport>
  /** The first payload of each of `events` (watched from the start), waiting until all arrived. */
  firstEvents: (events: string[]) => Promise<Record<string, unknown>>
  /** Acknowledges an alert and resolves with the `dashboard:acked` broadcast the page receives. */
  ack: (id: string) => Promise<unknown>
}

/**
 * What the driver needs of a page: `evaluate` of a function with one argument, or of an expression,
 * which Playwright's and Puppeteer's pages both have.
 */
export interface EvaluatingPage {
  evaluate: <R, A>(fn: ((arg: A) => R | Promise<R>) | string, arg?: A) => Promise<R>
}

/**
 * Imports fastify-cors-io/client into the page (a page of test/browser/page-server.ts, whose import map
 * serves it as the host would) and connects to `serverOrigin` with these socket options.
 */
export async function clientPage (page: EvaluatingPage, serverOrigin: string, socket: Record<string, unknown>, retry: RetryOptions = {}): Promise<ClientPage> {
  await page.evaluate(async ({ serverOrigin, socket, retry, watched }) => {
    const { connectDashboard } = await import('/client/index.js' as string) as typeof import('../../client/index.js')
    window.statesUnderTest = []
    window.eventsUnderTest = {}
    window.dashboardUnderTest = connectDashboard(serverOrigin, { socket, retry })
    window.dashboardUnderTest.status.subscribe((status) => { window.statesUnderTest.push(status) })
    const events = window.dashboardUnderTest.socket as unknown as { on: (event: string, listener: (payload: unknown) => void) => void }
    for (const event of watched) events.on(event, (payload) => { if (!(event in window.eventsUnderTest)) window.eventsUnderTest[event] = payload })
  }, { serverOrigin, socket, retry, watched: WATCHED })
  return {
    until: async (predicate, what) => {
      // Polled from Node (every 10 ms, bounded), so it works the same on every browser driver.
      const check = `(${predicate.toString()})(window.dashboardUnderTest.status.current)`
      try {
        await poll(async () => await page.evaluate<boolean, undefined>(check), 15_000, `the status ${what}`)
      } catch (error) {
        const states = await page.evaluate(() => window.statesUnderTest).catch(() => [])
        throw new Error(`${(error as Error).message}; statuses so far: ${JSON.stringify(states)}`)
      }
      return await page.evaluate(() => window.dashboardUnderTest.status.current)
    },
    states: async () => await page.evaluate(() => window.statesUnderTest),
    diagnose: async () => await within(page.evaluate(async () => await window.dashboardUnderTest.diagnose()), 'the diagnose report', 30_000),
    firstEvents: async (events) => {
      await poll(async () => await page.evaluate((events) => events.every((event) => event in window.eventsUnderTest), events), 10_000, `the events ${events.join(', ')}`)
      return await page.evaluate(() => window.eventsUnderTest)
    },
    ack: async (id) => await within(page.evaluate(async (id) => await new Promise<unknown>((resolve) => {
      const socket = window.dashboardUnderTest.socket
      socket.once('dashboard:acked', resolve)
      socket.emit('dashboard:ack', { id })
    }), id), 'the acknowledgement broadcast')
  }
}

/** Resolves once `check()` resolves true, asking every 20 ms; throws after `timeoutMs`, naming `what`. */
async function poll (check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A report's steps as `{ id: result }`, for one `t.same`. */
export function stepResults (report: DiagnoseReport): Record<DiagnoseStep['id'], DiagnoseStep['result']> {
  return Object.fromEntries(report.steps.map((step) => [step.id, step.result])) as Record<DiagnoseStep['id'], DiagnoseStep['result']>
}

/**
 * The statuses every engine is tested for (Firefox and WebKit; Chromium has the full matrix): an admin
 * on an allowed page, a refused page, and a logged-out page, each with its `diagnose()` report.
 * `open` loads a page of `pageOrigin` against a fresh server that allows `allowed` only.
 */
export function engineStatusTests (t: Test, open: (t: Test, pageOrigin: string, socket: Record<string, unknown>) => Promise<ClientPage>,
  allowed: string, refused: string, pagesPort: number): void {
  t.test('an admin on an allowed page: connected, every step passes', async (t) => {
    const dashboard = await open(t, allowed, { auth: { token: 'admin-token' } })
    t.match(await dashboard.until((status) => status.state === 'connected', 'connected'), { state: 'connected' })
    const report = await dashboard.diagnose()
    t.same(stepResults(report), { reachable: 'pass', origin: 'pass', 'logged-in': 'pass', admin: 'pass', polling: 'pass', websocket: 'pass' })
  })

  t.test('a refused page: refused, never reconnecting; the report names no allowed origin', async (t) => {
    const dashboard = await open(t, refused, { auth: { token: 'admin-token' } })
    await dashboard.until((status) => status.state === 'refused', 'refused')
    const report = await dashboard.diagnose()
    t.same(stepResults(report), { reachable: 'pass', origin: 'fail', 'logged-in': 'skip', admin: 'skip', polling: 'skip', websocket: 'skip' })
    t.notOk(JSON.stringify(report).includes(`localhost:${pagesPort}`), 'the allowlist is not revealed')
    t.same((await dashboard.states()).map((status) => status.state), ['connecting', 'refused'])
  })

  t.test('logged out: unauthorized', async (t) => {
    const dashboard = await open(t, allowed, {})
    await dashboard.until((status) => status.state === 'unauthorized', 'unauthorized')
    const report = await dashboard.diagnose()
    t.same(stepResults(report), { reachable: 'pass', origin: 'pass', 'logged-in': 'fail', admin: 'skip', polling: 'pass', websocket: 'pass' })
  })
}
