import type { OriginPolicyStats } from '../index.js'

/** What the dashboard's "Origin policy" panel shows, from `fastify.originPolicy.stats()`. */
export interface OriginsPanel {
  /** Refused origins are being served (report-only roll-out): the page shows a banner. */
  reportOnly: boolean
  /** Refused origins (under report-only: would be refused), most counted first, each with its reason and fix. */
  refused: Array<{ origin: string, reason: string, fix: string, count: number, served: boolean }>
  /** (connected + recovered) / all Socket.IO connection outcomes; null before the first. */
  connectionSuccessRate: number | null
}

/** The dashboard shows this many refused origins at most. */
export const MAX_REFUSED_SHOWN = 10

export function originsPanel (stats: OriginPolicyStats): OriginsPanel {
  const refused = stats.origins.flatMap(({ origin, refused, wouldRefuse }) => [
    ...refused.map(({ reason, fix, total }) => ({ origin, reason, fix, count: total, served: false })),
    ...wouldRefuse.map(({ reason, fix, total }) => ({ origin, reason, fix, count: total, served: true }))
  ]).sort((a, b) => b.count - a.count).slice(0, MAX_REFUSED_SHOWN)
  return { reportOnly: stats.mode === 'report-only', refused, connectionSuccessRate: stats.connectionSuccessRate }
}

/** Every refusal counted so far, of both plugins: API requests, Socket.IO requests and upgrades. */
export function refusedTotal (stats: OriginPolicyStats): number {
  return stats.totals.refused.reduce((sum, { total }) => sum + total, 0)
}
