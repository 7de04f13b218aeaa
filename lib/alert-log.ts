import { randomUUID } from 'node:crypto'
import { CorsConfigError } from './errors.js'
import { ALERT_LEVELS, type Alert, type AlertAck, type AlertLevel } from './protocol.js'

export interface AlertInput {
  level: AlertLevel
  message: string
  details?: Readonly<Record<string, unknown>>
}

const MAX_MESSAGE_LENGTH = 2000
/** Ids are UUIDs; anything longer from a client is not one of ours. */
const MAX_ID_LENGTH = 64

/**
 * The latest `limit` alerts, oldest first, for a dashboard that connects later; acknowledgements are
 * kept on the alert, so a late dashboard sees which are handled and by whom.
 */
export class AlertLog {
  readonly limit: number
  readonly #alerts = new Map<string, Alert>()
  readonly #now: () => number

  constructor (limit: number, now: () => number = Date.now) {
    this.limit = limit
    this.#now = now
  }

  /** Records a new alert (forgetting the oldest beyond the limit) and returns it. */
  add (input: AlertInput): Alert {
    if (typeof input !== 'object' || input === null || !ALERT_LEVELS.includes(input.level)) {
      throw new CorsConfigError('alert.level', `${String((input as Partial<AlertInput> | null)?.level)} is not an alert level`, `use one of ${ALERT_LEVELS.join(', ')}`)
    }
    if (typeof input.message !== 'string' || input.message === '' || input.message.length > MAX_MESSAGE_LENGTH) {
      throw new CorsConfigError('alert.message', 'is not a non-empty string', `pass a message of 1 to ${MAX_MESSAGE_LENGTH} characters`)
    }
    const alert: Alert = { id: randomUUID(), level: input.level, message: input.message, at: new Date(this.#now()).toISOString() }
    if (input.details !== undefined) alert.details = input.details
    if (this.limit > 0) {
      if (this.#alerts.size >= this.limit) this.#alerts.delete(this.#alerts.keys().next().value as string)
      this.#alerts.set(alert.id, alert)
    }
    return alert
  }

  /**
   * Marks an alert of the backlog acknowledged by `by`. Returns the acknowledgement, or `undefined` when
   * the id (as a client sent it, so unchecked) names no alert of the backlog or one already acknowledged.
   */
  acknowledge (id: unknown, by: string): AlertAck | undefined {
    if (typeof id !== 'string' || id.length > MAX_ID_LENGTH) return undefined
    const alert = this.#alerts.get(id)
    if (alert === undefined || alert.acknowledged !== undefined) return undefined
    alert.acknowledged = { id, by, at: new Date(this.#now()).toISOString() }
    return alert.acknowledged
  }

  /** The backlog, oldest first. */
  list (): Alert[] {
    return [...this.#alerts.values()]
  }
}
