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
      const counts = await app.store.stats.unfinishedByStatus()
      this.reset()
      for (const [status, n] of Object.entries(counts)) this.set({ status }, n)
    }
  })
  for (const { name, help, read } of app.store.counters) {
    registry.registerMetric(new client.Counter({ name, help, registers: [], collect () { this.reset(); this.inc(read()) } }))
  }
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
