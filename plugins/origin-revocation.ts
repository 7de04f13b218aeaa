import type { FastifyBaseLogger } from 'fastify'
import type { LiveOriginPolicy } from '../lib/live-policy.js'
import { countedOrigin } from '../lib/origin-policy.js'
import { ORIGIN_REVOKED, SERVER_EVENTS, type OriginRevokedPayload } from '../lib/protocol.js'
import type { RealtimeServer, RealtimeSocket } from './realtime-types.js'

const REVOKED: OriginRevokedPayload = Object.freeze({ code: ORIGIN_REVOKED, message: 'the server no longer admits this page\'s origin' })

/**
 * After an update, disconnects the sockets of this node whose handshake Origin the new list refuses, as
 * the gate would refuse their next handshake (an open WebSocket is never checked again; a polling
 * session's next request would be). Each is told why first: packets to one socket leave in order and
 * engine.io flushes its buffer before closing (engine.io `lib/socket.ts` close()). Under report-only
 * they stay, logged as "would disconnect".
 */
export function revokeRefusedSockets (io: RealtimeServer, policy: LiveOriginPolicy, requireOrigin: boolean, log: FastifyBaseLogger): void {
  const refused: RealtimeSocket[] = []
  const reported = new Map<string, number>()
  for (const namespace of io._nsps.values()) {
    for (const socket of namespace.sockets.values()) {
      const origin = socket.handshake.headers.origin
      const decision = policy.decide(origin)
      if (decision.allowed || (decision.reason === 'absent' && !requireOrigin)) continue
      if (policy.reports(decision)) {
        const key = countedOrigin(origin!) // absent is never reported
        reported.set(key, (reported.get(key) ?? 0) + 1)
      } else {
        refused.push(socket)
      }
    }
  }
  for (const [origin, sockets] of reported) log.warn({ plugin: 'fastify-cors-io:realtime', origin, sockets, reportOnly: true }, 'report-only: would disconnect the sockets of an origin the updated list refuses')
  if (refused.length === 0) return
  // Every reason first: closing one namespace's connection also closes the others it carries.
  for (const socket of refused) (socket.emit as (event: string, payload: OriginRevokedPayload) => boolean)(SERVER_EVENTS.originRevoked, REVOKED)
  for (const socket of refused) socket.disconnect(true)
  log.warn({ plugin: 'fastify-cors-io:realtime', sockets: refused.length }, 'disconnected the sockets whose origin the updated list refuses')
}
