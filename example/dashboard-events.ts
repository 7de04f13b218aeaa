import type { OriginsPanel } from './origins-panel.js'
import type { SessionEndReason } from './sessions.js'
import type { Role } from './users.js'

/** Payloads the example pushes to every open dashboard, one type per event name. */

export interface Metrics {
  at: string
  eventLoopDelayMs: { p50: number, p99: number, max: number }
  memory: { rssBytes: number, heapUsedBytes: number }
  sockets: { connected: number, dashboards: number }
  sessions: number
  refusedOrigins: number
  origins: OriginsPanel
}

export interface JobProgress {
  id: string
  startedBy: string
  step: number
  steps: number
  state: 'running' | 'done'
}

export interface ConnectedAdmin {
  id: string
  name: string
  connections: number
  since: string
}

export interface AdminList {
  admins: ConnectedAdmin[]
}

/** Sent to a session's sockets just before the server disconnects them. */
export interface SessionEnded {
  reason: SessionEndReason
}

declare module '../index.js' {
  interface DashboardEvents {
    metrics: Metrics
    'job:progress': JobProgress
    admins: AdminList
    'session:ended': SessionEnded
  }
  interface SocketUser {
    name: string
    role: Role
    /** The login session the socket authenticated with; the app's own sockets always have one. */
    sessionId?: string
  }
}
