import { CorsConfigError } from './errors.js'

/** The time source and timers a coalescer uses; tests inject a manual one. */
export interface Clock {
  now: () => number
  setTimeout: (callback: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (callback: () => void, ms: number): unknown => setTimeout(callback, ms),
  clearTimeout: (handle: unknown) => { clearTimeout(handle as NodeJS.Timeout) }
})

export interface CoalescerOptions<V> {
  /** The shortest time between two sends of one topic, in ms. */
  intervalMs: (topic: string) => number
  /** How many distinct topics it keeps; publishing one more throws. */
  maxTopics: number
  /** Sends one topic's latest value to every subscriber (one emit for all of them). */
  send: (topic: string, value: V) => void
  clock?: Clock
}

interface TopicState<V> {
  value: V
  intervalMs: number
  /** When the topic may be sent again. */
  nextAt: number
  /** The pending trailing send, when a value arrived too soon after the last send. */
  timer: unknown
}

/**
 * Retained, coalesced topics. Each topic is sent at most once per its interval, always with its latest
 * value: the first publish after a quiet interval goes out at once (leading edge), later ones within
 * the interval only overwrite the value, which one timer per topic sends when the interval ends
 * (trailing edge). So a subscriber never gets a backlog of stale values, whatever the publish rate, and
 * the state is one entry and at most one timer per topic, never per subscriber.
 */
export class TopicCoalescer<V> {
  readonly #topics = new Map<string, TopicState<V>>()
  readonly #options: Required<CoalescerOptions<V>>

  constructor (options: CoalescerOptions<V>) {
    this.#options = { ...options, clock: options.clock ?? systemClock }
  }

  publish (topic: string, value: V): void {
    const { clock } = this.#options
    let state = this.#topics.get(topic)
    if (state === undefined) {
      if (this.#topics.size >= this.#options.maxTopics) {
        throw new CorsConfigError('maxTopics', `publishing "${topic.slice(0, 100)}" would make ${this.#topics.size + 1} topics, over the limit of ${this.#options.maxTopics}`,
          'publish a fixed set of topics (put varying keys inside the value), or raise `maxTopics`')
      }
      state = { value, intervalMs: this.#options.intervalMs(topic), nextAt: 0, timer: undefined }
      this.#topics.set(topic, state)
    }
    state.value = value
    if (state.timer !== undefined) return
    const now = clock.now()
    if (now >= state.nextAt) {
      this.#send(topic, state, now)
    } else {
      state.timer = clock.setTimeout(() => {
        state.timer = undefined
        this.#send(topic, state, clock.now())
      }, state.nextAt - now)
    }
  }

  #send (topic: string, state: TopicState<V>, now: number): void {
    state.nextAt = now + state.intervalMs
    this.#options.send(topic, state.value)
  }

  /** The latest value of every topic, in the order they were first published. */
  * current (): IterableIterator<[topic: string, value: V]> {
    for (const [topic, state] of this.#topics) yield [topic, state.value]
  }

  /** Cancels every pending send (values published since the last send are not sent). */
  close (): void {
    for (const state of this.#topics.values()) {
      if (state.timer !== undefined) this.#options.clock.clearTimeout(state.timer)
      state.timer = undefined
    }
  }
}
