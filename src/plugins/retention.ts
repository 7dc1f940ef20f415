import { constants } from 'node:fs'
import { access, mkdir } from 'node:fs/promises'
import fp from 'fastify-plugin'
import client from '@prometheus-io/client'
import { ConfigError } from '../config.ts'
import { createRetention, RETENTION_TASK } from '../jobs/retention.ts'

/** A replica that dies mid-pass holds the task this long; every batch renews it. */
const LEASE_MS = 5 * 60_000

/**
 * A replica that may run a pass must be able to write the audit archive: found at start (one line
 * naming the variable), not at the first pass, when records would stay in the database unarchived.
 */
async function checkArchiveDir (dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
    await access(dir, constants.W_OK | constants.X_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    const why = code === 'ENOTDIR' || code === 'EEXIST' ? 'a part of the path is a file, not a folder' : code === 'EACCES' || code === 'EPERM' ? 'the service may not write there' : (err as Error).message
    throw new ConfigError('AUDIT_ARCHIVE_DIR', `AUDIT_ARCHIVE_DIR=${dir} cannot be used for the audit archive: ${why} (${code}). Point it at a folder this process may create and write (shared by the replicas that run workers), or set RETENTION_DAYS=0 to keep everything in the database.`)
  }
}

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
  await checkArchiveDir(config.AUDIT_ARCHIVE_DIR)
  const { telemetry } = app
  const retention = createRetention({
    store: app.store,
    clock: app.clock,
    log: app.log.child({ component: 'retention' }),
    options: {
      retentionDays: config.RETENTION_DAYS,
      intervalMs: config.RETENTION_INTERVAL_MINUTES * 60_000,
      batchSize: config.RETENTION_BATCH_SIZE,
      batchPauseMs: config.RETENTION_BATCH_PAUSE_MS,
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
