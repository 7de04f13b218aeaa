import { randomUUID } from 'node:crypto'
import type { JobProgress } from './dashboard-events.js'

export interface DemoJobTiming {
  steps: number
  stepMs: number
}

/**
 * A stand-in for real background work: it advances one step per tick and
 * reports every step, so every open dashboard can draw the same progress bar.
 */
export class DemoJobs {
  readonly #publish: (progress: JobProgress) => void
  readonly #timing: DemoJobTiming
  readonly #timers = new Set<NodeJS.Timeout>()

  constructor (publish: (progress: JobProgress) => void, timing: DemoJobTiming) {
    this.#publish = publish
    this.#timing = timing
  }

  start (startedBy: string): JobProgress {
    const progress: JobProgress = { id: randomUUID(), startedBy, step: 0, steps: this.#timing.steps, state: 'running' }
    this.#publish({ ...progress })
    const timer = setInterval(() => {
      progress.step += 1
      if (progress.step === progress.steps) {
        progress.state = 'done'
        clearInterval(timer)
        this.#timers.delete(timer)
      }
      this.#publish({ ...progress })
    }, this.#timing.stepMs)
    this.#timers.add(timer)
    return { ...progress }
  }

  stopAll (): void {
    for (const timer of this.#timers) clearInterval(timer)
    this.#timers.clear()
  }
}
