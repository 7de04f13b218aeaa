import type { FastifyInstance } from 'fastify'
import type { MetricsRegistry } from '../lib/config.js'
import type { LiveOriginPolicy } from '../lib/live-policy.js'

export const METRIC_NAMES = Object.freeze({
  decisions: 'fastify_cors_io_origin_decisions_total',
  sockets: 'fastify_cors_io_socket_connections_total',
  reportOnly: 'fastify_cors_io_report_only'
})

/**
 * Registers the policy's counters in the host's prom-client registry. prom-client is an optional peer
 * dependency, imported only here. The metrics read the policy's own counters when scraped (prom-client
 * `collect`), so a request costs nothing more; no label carries the origin, whose values a client picks
 * (Prometheus docs, "Instrumentation": do not use labels for unbounded sets of values).
 */
export async function registerMetrics (fastify: FastifyInstance, policy: LiveOriginPolicy, registry: MetricsRegistry): Promise<void> {
  const { Counter, Gauge } = await import('prom-client')
  const decisions = new Counter({
    name: METRIC_NAMES.decisions,
    help: 'Origin decisions of the CORS and Socket.IO origin policy, by decision (allowed, refused, would-refuse under report-only), refusal reason and channel',
    labelNames: ['decision', 'reason', 'channel'] as const,
    registers: [],
    collect () {
      this.reset()
      policy.forEachTotal((decision, reason, channel, value) => { this.inc({ decision, reason, channel }, value) })
    }
  })
  const sockets = new Counter({
    name: METRIC_NAMES.sockets,
    help: 'Socket.IO namespace connections by outcome',
    labelNames: ['outcome'] as const,
    registers: [],
    collect () {
      this.reset()
      policy.forEachSocketOutcome((outcome, value) => { this.inc({ outcome }, value) })
    }
  })
  const reportOnly = new Gauge({
    name: METRIC_NAMES.reportOnly,
    help: '1 while refusal is report-only (origins the list refuses are served), else 0',
    registers: [],
    collect () { this.set(policy.mode === 'report-only' ? 1 : 0) }
  })
  for (const metric of [decisions, sockets, reportOnly]) registry.registerMetric(metric)
  fastify.addHook('onClose', async () => { for (const name of Object.values(METRIC_NAMES)) registry.removeSingleMetric(name) })
}
