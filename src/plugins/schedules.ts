import fp from 'fastify-plugin'
import { createScheduleService, type ScheduleService } from '../jobs/schedules/service.ts'
import { createScheduleTicker } from '../jobs/schedules/ticker.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The schedule use cases: what the schedule routes call. */
    schedules: ScheduleService
  }
}

/**
 * Schedules: the use cases for every replica that serves the API, and the ticks for every replica
 * that runs workers (each tick makes one job however many of them look).
 */
export default fp<{ startWorkers: boolean }>(async (app, opts) => {
  const { telemetry } = app
  const common = {
    store: app.store,
    kinds: app.jobs.kinds,
    clock: app.clock,
    callbackPolicy: app.callbackPolicy,
    jobMaxDurationMs: app.config.JOB_MAX_DURATION_MS,
    jobCreated: (kind: string) => app.jobs.created(kind)
  }
  // Made on every replica (a schedule changed here wakes it); started only where workers run.
  const ticker = createScheduleTicker({
    ...common,
    log: app.log.child({ component: 'schedules' }),
    pollMs: app.config.WORKER_POLL_MS,
    onTick: (report) => {
      if (report.created !== undefined) {
        telemetry.scheduleTicks.inc({ kind: report.kind, outcome: 'created' })
        telemetry.scheduleLag.observe({ kind: report.kind }, report.created.lagMs / 1000)
      }
      for (const [outcome, n] of [['skipped', report.skipped.length], ['missed', report.missed], ['failed', report.failed === undefined ? 0 : 1]] as const) {
        if (n === 0) continue
        telemetry.scheduleTicks.inc({ kind: report.kind, outcome }, n)
        telemetry.scheduleSkippedTicks.inc({ kind: report.kind, reason: outcome === 'skipped' ? 'overlap' : outcome }, n)
      }
    }
  })
  app.decorate('schedules', createScheduleService({ ...common, wakeTicker: () => ticker.wake() }))
  if (!opts.startWorkers) return
  app.addHook('onReady', async () => { ticker.start() })
  app.addHook('preClose', async () => {
    ticker.stop()
    await ticker.settled()
  })
}, { name: 'schedules', dependencies: ['config', 'store', 'metrics', 'callbacks', 'engine'] })
