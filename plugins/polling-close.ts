import type { Transport as EngineTransport } from 'engine.io'

/** The private close state of an engine.io polling transport (engine.io `build/transports/polling.js`). */
interface PollingClose { shouldClose?: (() => void) | null }

/**
 * The close a polling transport is waiting to finish, as a function that finishes it now. engine.io's
 * polling `doClose()` with no poll pending keeps the close (`shouldClose`) for the next poll, or for a
 * 30 s timer; neither a later `close(true)` (`Transport.close()` returns while closing) nor the session's
 * own close (socket `clearTransport()` only asks the transport to close) cuts that short. Finishing it
 * is what the next poll would do (polling `send()`), minus the close packet: the timer is cleared and
 * the session and transport close.
 */
export function pendingClose (transport: EngineTransport): (() => void) | undefined {
  const polling = transport as unknown as PollingClose
  const finish = polling.shouldClose
  if (typeof finish !== 'function') return undefined
  return () => {
    polling.shouldClose = null
    finish()
  }
}
