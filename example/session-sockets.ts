import type { RealtimeNamespace } from '../index.js'
import type { SessionEndReason } from './sessions.js'

const room = (sessionId: string): string => `session:${sessionId}`

/**
 * Ties live sockets to the login session they authenticated with, so that ending the session (logout,
 * expiry) also ends them: a socket is authenticated once, at its handshake, and would otherwise keep
 * receiving dashboard data for as long as it stays connected.
 */
export function bindSessionSockets (namespaces: RealtimeNamespace[]): (sessionId: string, reason: SessionEndReason) => void {
  for (const namespace of namespaces) {
    namespace.on('connection', (socket) => {
      // The app's authenticate always sets sessionId.
      socket.join(room(socket.data.user.sessionId!)) as unknown
    })
  }
  return function endSessionSockets (sessionId, reason) {
    // Every reason first: closing one namespace's connection also closes the others it carries.
    // Packets to one socket leave in order, and engine.io flushes its buffer before closing
    // (engine.io/lib/socket.ts close()), so the page reads the reason before the disconnect.
    for (const namespace of namespaces) namespace.to(room(sessionId)).emit('session:ended', { reason })
    // true: close the underlying connection too, so nothing of the session stays open.
    for (const namespace of namespaces) namespace.in(room(sessionId)).disconnectSockets(true)
  }
}
