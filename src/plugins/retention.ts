import fp from 'fastify-plugin'
import client from '@prometheus-io/client'
import { createRetention, RETENTION_TASK } from '../jobs/retention.ts'

/** A replica that dies mid-pass holds the task this long; every batch renews it. */
const LEASE_MS = 5 * 60_000

/**
 * Retention (RETENTION_DAYS): run by the replicas that run workers, once across them. With
 * RETENTION_DAYS=0 nothing is pruned or archived.
 */
export default fp<{ startWorkers: boolean }>(async (app, opts) => {
  const config = app.config
  // Read from the database at scrape time: whichever replica ran the last pass, every replica reports it.
  new client.Gauge({ // eslint-disable-line no-new
    name: 'orchestrator_retention_last_completed_timestamp_seconds',
    help: 'When a retention pass last completed (any replica); 0 when none has',
    registers: [app.telemetry.registry],
    async collect () {
      this.set((await app.store.tasks.lastCompletedAt(RETENTION_TASK) ?? 0) / 1000)
    }
  })
  if (config.RETENTION_DAYS === 0) {
    app.log.info('RETENTION_DAYS=0: nothing is pruned or archived')
    return
  }
  if (!opts.startWorkers) return
  const { telemetry } = app
  const retention = createRetention({
    store: app.store,
    clock: app.clock,
    log: app.log.child({ component: 'retention' }),
    options: {
      retentionDays: config.RETENTION_DAYS,
      intervalMs: config.RETENTION_INTERVAL_MINUTES * 60_000,
      batchSize: config.RETENTION_BATCH_SIZE,
      archiveDir: config.AUDIT_ARCHIVE_DIR,
      leaseMs: LEASE_MS
    },
    onPruned: (table, rows) => telemetry.retentionPrunedRows.inc({ table }, rows),
    onArchived: (records) => telemetry.auditArchivedRecords.inc(records),
    onPass: (report) => telemetry.retentionPasses.inc({ outcome: report.outcome })
  })
  app.addHook('onReady', async () => { retention.start() })
  app.addHook('preClose', async () => {
    retention.stop()
    await retention.settled()
  })
}, { name: 'retention', dependencies: ['config', 'store', 'metrics'] })
