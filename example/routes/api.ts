import type { FastifyInstance } from 'fastify'
import type { DemoJobs } from '../jobs.js'
import type { MetricsSampler } from '../metrics.js'
import { requireAdmin, sessionUser } from '../session-auth.js'
import type { SessionStore } from '../sessions.js'

export interface ApiRoutesOptions {
  sessions: SessionStore
  jobs: DemoJobs
  metrics: MetricsSampler
}

export async function apiRoutes (app: FastifyInstance, { sessions, jobs, metrics }: ApiRoutesOptions) {
  const adminOnly = requireAdmin(sessions)

  app.get('/api/health', async () => ({ status: 'ok' }))

  // A POST always carries Origin, even same-origin, so reaching this handler
  // proves the CORS plugin accepted the page's origin. The dashboard calls it
  // to tell a refused origin apart from other connection errors.
  app.post('/api/origin-check', async (request) => ({ origin: request.headers.origin ?? null, allowed: true }))

  app.get('/api/metrics', { preHandler: adminOnly }, async () => metrics.snapshot())

  app.post('/api/jobs', { preHandler: adminOnly }, async (request, reply) => {
    // adminOnly has already checked that a user is logged in.
    const user = sessionUser(request, sessions)!
    return reply.code(202).send({ job: jobs.start(user.name) })
  })
}
