import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { bearerSecurity, errorResponses } from '../schemas/common.ts'
import { LATENCY_WINDOW, MetricsSummarySchema } from '../schemas/metrics.ts'
import { jobStatistics } from '../jobs/statistics.ts'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/metrics', {
    config: { scope: 'metrics:read' },
    schema: {
      tags: ['Metrics'],
      security: bearerSecurity,
      summary: 'Job statistics per kind, as JSON',
      description:
        'Computed from the database on each request, so every replica answers the same. Per kind that has jobs: ' +
        'counts by outcome (`running` counts queued, running and waiting jobs), the success rate over finished jobs, ' +
        'the submission-to-finish latency (mean, nearest-rank p50 and p95), cache hits and, for kinds that make one Genesys call per ' +
        'job (`custom-code`, `data-action`), the calls made and their mean latency, plus the 10 newest jobs. Counts cover every job; ' +
        `latency, cache-hit and execution-latency figures cover at most the ${LATENCY_WINDOW} newest finished jobs per kind ` +
        '(`latencyMs.sampleSize` says how many). For scraping, use the Prometheus metrics at `/metrics`.',
      response: {
        200: MetricsSummarySchema,
        ...errorResponses(401, 403)
      }
    }
  }, async () => await jobStatistics(app.store, app.jobs.kinds, app.clock.now()))
}

export default routes
