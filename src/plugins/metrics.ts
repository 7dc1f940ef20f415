import fp from 'fastify-plugin'
import client from '@prometheus-io/client'
import fastifyMetrics from 'fastify-metrics'
import { createTelemetry, type Telemetry } from '../telemetry.ts'

declare module 'fastify' {
  interface FastifyInstance {
    telemetry: Telemetry & { jobsCurrent: client.Gauge }
  }
}

/**
 * Prometheus metrics at `/metrics`: process and HTTP metrics from fastify-metrics, and the domain
 * metrics of `telemetry.ts`, all in this app's own registry (several apps may share a process in tests).
 */
export default fp(async (app) => {
  const registry = new client.Registry()
  const telemetry = createTelemetry(registry)
  // Read from the database at scrape time, so every replica reports the shared truth.
  const current = new client.Gauge({
    name: 'orchestrator_jobs_current',
    help: 'Jobs not yet finished, by status',
    labelNames: ['status'],
    registers: [registry],
    async collect () {
      const rows = await app.store.db.selectFrom('jobs').select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', 'in', ['queued', 'running', 'waiting']).groupBy('status').execute()
      this.reset()
      for (const status of ['queued', 'running', 'waiting']) this.set({ status }, Number(rows.find((r) => r.status === status)?.n ?? 0))
    }
  })
  // fastify-metrics is CommonJS: its plugin is the module's default export.
  await app.register(fastifyMetrics.default, {
    endpoint: { url: '/metrics', method: 'GET', logLevel: 'warn', config: { scope: 'metrics:read' }, schema: { hide: true } } as never,
    defaultMetrics: { enabled: true, register: registry },
    routeMetrics: {
      enabled: true,
      registeredRoutesOnly: true,
      groupStatusCodes: false,
      routeBlacklist: ['/metrics', '/healthz', '/readyz'],
      overrides: { histogram: { registers: [registry] }, summary: { registers: [registry] } }
    }
  })
  app.decorate('telemetry', { ...telemetry, jobsCurrent: current })
}, { name: 'metrics', dependencies: ['config', 'store'] })
