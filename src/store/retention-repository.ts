import { TERMINAL_STATUSES } from '../schemas/job.ts'
import type { Connection, DialectName } from './schema.ts'

/** Rows removed by one batch of pruning, per table. */
export type PrunedRows = Record<PrunedTable, number>
export type PrunedTable = 'jobs' | 'job_labels' | 'job_events' | 'job_items' | 'job_effects' | 'webhook_events' | 'idempotency_keys' | 'callback_outbox' | 'schedule_runs'

const ACTIVE = ['queued', 'running', 'waiting']

export const noneRemoved = (): PrunedRows => ({
  jobs: 0, job_labels: 0, job_events: 0, job_items: 0, job_effects: 0, webhook_events: 0, idempotency_keys: 0, callback_outbox: 0, schedule_runs: 0
})

const count = (result: { numDeletedRows: bigint }): number => Number(result.numDeletedRows)

/**
 * Deletes what a retention period no longer keeps, one small batch per call: call each inside its
 * own transaction, so a batch commits (or not) as a whole and no batch holds the database long.
 */
export function createRetentionRepository (db: Connection, dialect: DialectName) {
  return {
    /**
     * Up to `limit` terminal jobs that finished before `cutoff`, with everything that hangs from
     * them: labels, timeline, items, side-effect marks, the webhook events attached to them, their
     * idempotency keys and their callbacks. A job whose callback is still pending is kept until it
     * is delivered or given up. On PostgreSQL the batch skips rows another transaction holds.
     */
    async pruneJobs (cutoff: number, limit: number): Promise<PrunedRows> {
      const removed = noneRemoved()
      const ids = (await db.selectFrom('jobs').select('id')
        .where('status', 'in', [...TERMINAL_STATUSES]).where('finishedAt', '<', cutoff)
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('callbackOutbox').select('callbackOutbox.id')
          .whereRef('callbackOutbox.jobId', '=', 'jobs.id').where('callbackOutbox.status', '=', 'pending'))))
        .orderBy('finishedAt').limit(limit)
        .$if(dialect === 'postgres', (q) => q.forUpdate().skipLocked())
        .execute()).map((r) => r.id)
      if (ids.length === 0) return removed
      removed.job_labels = count(await db.deleteFrom('jobLabels').where('jobId', 'in', ids).executeTakeFirst())
      removed.job_events = count(await db.deleteFrom('jobEvents').where('jobId', 'in', ids).executeTakeFirst())
      removed.job_items = count(await db.deleteFrom('jobItems').where('jobId', 'in', ids).executeTakeFirst())
      removed.job_effects = count(await db.deleteFrom('jobEffects').where('jobId', 'in', ids).executeTakeFirst())
      removed.webhook_events = count(await db.deleteFrom('webhookEvents').where('jobId', 'in', ids).executeTakeFirst())
      removed.idempotency_keys = count(await db.deleteFrom('idempotencyKeys').where('jobId', 'in', ids).executeTakeFirst())
      removed.callback_outbox = count(await db.deleteFrom('callbackOutbox').where('jobId', 'in', ids).executeTakeFirst())
      removed.jobs = count(await db.deleteFrom('jobs').where('id', 'in', ids).executeTakeFirst())
      return removed
    },

    /** Up to `limit` webhook events received before `cutoff` that name no job (unmatched or ignored events). */
    async pruneUnattachedWebhookEvents (cutoff: number, limit: number): Promise<number> {
      return count(await db.deleteFrom('webhookEvents')
        .where((eb) => eb(eb.refTuple('source', 'eventId'), 'in', eb.selectFrom('webhookEvents')
          .select(['source', 'eventId']).where('jobId', 'is', null).where('receivedAt', '<', cutoff).limit(limit)
          .$asTuple('source', 'eventId')))
        .executeTakeFirst())
    },

    /** Up to `limit` idempotency keys past their expiry (a reuse would start afresh anyway). */
    async pruneExpiredIdempotencyKeys (now: number, limit: number): Promise<number> {
      return count(await db.deleteFrom('idempotencyKeys')
        .where((eb) => eb(eb.refTuple('team', 'key'), 'in', eb.selectFrom('idempotencyKeys')
          .select(['team', 'key']).where('expiresAt', '<=', now).limit(limit)
          .$asTuple('team', 'key')))
        .executeTakeFirst())
    },

    /** Up to `limit` schedule runs recorded before `cutoff`, except those of jobs still unfinished (overlap checks read them). */
    async pruneScheduleRuns (cutoff: number, limit: number): Promise<number> {
      return count(await db.deleteFrom('scheduleRuns')
        .where((eb) => eb(eb.refTuple('scheduleId', 'tickAt'), 'in', eb.selectFrom('scheduleRuns')
          .select(['scheduleId', 'tickAt']).where('recordedAt', '<', cutoff)
          .where(({ or, eb: e, not, exists, selectFrom }) => or([
            e('jobId', 'is', null),
            not(exists(selectFrom('jobs').select('jobs.id').whereRef('jobs.id', '=', 'scheduleRuns.jobId').where('jobs.status', 'in', ACTIVE)))
          ]))
          .limit(limit)
          .$asTuple('scheduleId', 'tickAt')))
        .executeTakeFirst())
    }
  }
}

export type RetentionRepository = ReturnType<typeof createRetentionRepository>
