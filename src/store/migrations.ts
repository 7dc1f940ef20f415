import { sql, type Kysely } from 'kysely'
import { Migrator, type Migration } from 'kysely/migration'
import type { DialectName } from './schema.ts'

/** Migrations live in code so the service carries its schema with it; each one is append-only. */
function migrations (dialect: DialectName): Record<string, Migration> {
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer'
  return {
    '0001_initial': {
      async up (db: Kysely<any>) {
        await db.schema.createTable('jobs')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('caller', 'text', (c) => c.notNull())
          .addColumn('input', 'text', (c) => c.notNull())
          .addColumn('labels', 'text', (c) => c.notNull())
          .addColumn('callback_url', 'text')
          .addColumn('step', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('step_attempt', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('result', 'text')
          .addColumn('error', 'text')
          .addColumn('progress_done', 'integer')
          .addColumn('progress_total', 'integer')
          .addColumn('wait_reason', 'text')
          .addColumn('run_at', 'bigint', (c) => c.notNull())
          .addColumn('deadline_at', 'bigint', (c) => c.notNull())
          .addColumn('lease_owner', 'text')
          .addColumn('lease_token', 'text')
          .addColumn('lease_expires_at', 'bigint')
          .addColumn('claims', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('started_at', 'bigint')
          .addColumn('finished_at', 'bigint')
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute()
        await db.schema.createIndex('jobs_due').on('jobs').columns(['status', 'run_at']).execute()
        await db.schema.createIndex('jobs_lease').on('jobs').columns(['status', 'lease_expires_at']).execute()
        await db.schema.createIndex('jobs_created').on('jobs').columns(['created_at', 'id']).execute()
        await db.schema.createIndex('jobs_kind_created').on('jobs').columns(['kind', 'created_at']).execute()

        await db.schema.createTable('job_labels')
          .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('value', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('job_labels_pk', ['job_id', 'key'])
          .execute()
        await db.schema.createIndex('job_labels_kv').on('job_labels').columns(['key', 'value']).execute()

        await db.schema.createTable('job_events')
          .addColumn('seq', serial, (c) => dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement())
          .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .execute()
        await db.schema.createIndex('job_events_job').on('job_events').columns(['job_id', 'seq']).execute()

        await db.schema.createTable('idempotency_keys')
          .addColumn('caller', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('fingerprint', 'text', (c) => c.notNull())
          .addColumn('job_id', 'text', (c) => c.notNull())
          .addColumn('status_code', 'integer', (c) => c.notNull())
          .addColumn('response', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('idempotency_keys_pk', ['caller', 'key'])
          .execute()
        await db.schema.createIndex('idempotency_keys_expiry').on('idempotency_keys').column('expires_at').execute()

        await db.schema.createTable('audit_records')
          .addColumn('seq', 'bigint', (c) => c.primaryKey())
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('event', 'text', (c) => c.notNull())
          .addColumn('job_id', 'text')
          .addColumn('kind', 'text')
          .addColumn('actor', 'text')
          .addColumn('details', 'text', (c) => c.notNull())
          .addColumn('prev_hash', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute()
        await db.schema.createIndex('audit_job').on('audit_records').columns(['job_id', 'seq']).execute()
        await db.schema.createIndex('audit_at').on('audit_records').columns(['at', 'seq']).execute()
        await db.schema.createIndex('audit_event').on('audit_records').columns(['event', 'seq']).execute()

        // One row that every append locks: it serialises the chain across processes and replicas.
        await db.schema.createTable('audit_head')
          .addColumn('id', 'integer', (c) => c.primaryKey())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .execute()
        await db.insertInto('audit_head').values({ id: 1, seq: 0, hash: '0'.repeat(64) }).execute()

        await db.schema.createTable('callback_outbox')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('job_id', 'text', (c) => c.notNull())
          .addColumn('event_type', 'text', (c) => c.notNull())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('delivered_at', 'bigint')
          .execute()
        await db.schema.createIndex('callback_outbox_due').on('callback_outbox').columns(['status', 'next_attempt_at']).execute()
      }
    },
    '0002_remote_refs_and_webhooks': {
      async up (db: Kysely<any>) {
        // The remote id a job waits on (a flow execution, an evaluation), so webhooks find the job.
        await db.schema.alterTable('jobs').addColumn('remote_ref', 'text').execute()
        await db.schema.createIndex('jobs_remote_ref').on('jobs').column('remote_ref').execute()

        // Every inbound webhook event, stored before it is acknowledged; the key deduplicates replays.
        await db.schema.createTable('webhook_events')
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('received_at', 'bigint', (c) => c.notNull())
          .addColumn('job_id', 'text')
          .addColumn('event_type', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('webhook_events_pk', ['source', 'event_id'])
          .execute()
        await db.schema.createIndex('webhook_events_job').on('webhook_events').columns(['job_id', 'received_at']).execute()
      }
    },
    '0003_job_items': {
      async up (db: Kysely<any>) {
        // Per-item results of jobs that work through many items (dataset rows), written in batches
        // so a restart resumes after the last recorded item instead of from the start.
        await db.schema.createTable('job_items')
          .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
          .addColumn('idx', 'integer', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('job_items_pk', ['job_id', 'idx'])
          .execute()
      }
    },
    '0004_jobs_status_created': {
      async up (db: Kysely<any>) {
        // `GET /v1/jobs?status=…` pages newest first: without this, every page sorted all the jobs
        // of that status (about 100 ms at 100 000 jobs).
        await db.schema.createIndex('jobs_status_created').on('jobs').columns(['status', 'created_at', 'id']).execute()
      }
    },
    '0005_job_effects': {
      async up (db: Kysely<any>) {
        // A side effect about to be sent to Genesys, recorded (durably) just before it goes and
        // removed with the record of its outcome. A row found on the next try means the call may
        // have run without our knowing: it is not sent again unless the job opted in.
        await db.schema.createTable('job_effects')
          .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('item', 'integer')
          .addColumn('marked_at', 'bigint', (c) => c.notNull())
          .addColumn('claim', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('job_effects_pk', ['job_id', 'key'])
          .execute()
      }
    },
    '0006_job_metrics': {
      async up (db: Kysely<any>) {
        // What a succeeded job's kind says its result means for the metrics (kind.metrics), written
        // with the terminal transition, so statistics read two columns instead of parsing results.
        await db.schema.alterTable('jobs').addColumn('cache_hit', 'integer').execute()
        await db.schema.alterTable('jobs').addColumn('call_latency_ms', 'bigint').execute()
        // Jobs finished before this migration: what their results said, as the statistics read it then.
        const result = sql.ref('result')
        await (dialect === 'postgres'
          ? sql`update jobs set
              cache_hit = case jsonb_typeof(${result}::jsonb -> 'cacheHit') when 'boolean' then case when ${result}::jsonb ->> 'cacheHit' = 'true' then 1 else 0 end end,
              call_latency_ms = case when jsonb_typeof(${result}::jsonb -> 'latencyMs') = 'number' then round((${result}::jsonb ->> 'latencyMs')::float8) end
              where status = 'succeeded' and kind in ('data-action', 'custom-code') and result is not null`
          : sql`update jobs set
              cache_hit = case json_type(${result}, '$.cacheHit') when 'true' then 1 when 'false' then 0 end,
              call_latency_ms = case when json_type(${result}, '$.latencyMs') in ('integer', 'real') then round(json_extract(${result}, '$.latencyMs')) end
              where status = 'succeeded' and kind in ('data-action', 'custom-code') and result is not null`).execute(db)
      }
    },
    '0007_teams': {
      async up (db: Kysely<any>) {
        // Jobs belong to the submitting key's team; a key's team defaults to its name, which is what
        // `caller` holds for jobs submitted before teams.
        await db.schema.alterTable('jobs').addColumn('team', 'text').execute()
        await db.updateTable('jobs').set({ team: sql.ref('caller') }).execute()
        // Who asked for a cancel ({ key, team } as JSON), so the terminal record names the canceller.
        await db.schema.alterTable('jobs').addColumn('cancelled_by', 'text').execute()
        await db.schema.createIndex('jobs_team_created').on('jobs').columns(['team', 'created_at', 'id']).execute()
        await db.schema.createIndex('jobs_team_status_created').on('jobs').columns(['team', 'status', 'created_at', 'id']).execute()
        // Idempotency keys belong to the team too (they were per key, whose name was its team).
        await db.schema.alterTable('idempotency_keys').renameColumn('caller', 'team').execute()
      }
    },
    '0008_wake_requests': {
      async up (db: Kysely<any>) {
        // An inbound event asked the job to act at once while it was running (a flow's completion
        // right after its launch): honoured when the step parks the job; a claim clears it.
        await db.schema.alterTable('jobs').addColumn('woken_at', 'bigint').execute()
      }
    },
    '0009_item_outcomes': {
      async up (db: Kysely<any>) {
        // Each item's outcome as its kind names it (an LLM row: match, mismatch or error), written
        // with the item, so `GET /v1/jobs/{id}/items?outcome=` and the comparison of two runs filter
        // and page in SQL instead of parsing every row. Rows saved before this column existed get
        // their outcome from their kind the first time they are read (jobs/items.ts).
        await db.schema.alterTable('job_items').addColumn('outcome', 'text').execute()
        await db.schema.createIndex('job_items_outcome').on('job_items').columns(['job_id', 'outcome', 'idx']).execute()
      }
    },
    '0010_retention_and_reruns': {
      async up (db: Kysely<any>) {
        // A re-run names the job it repeats (and, for a subset of rows, which rows of it as JSON).
        await db.schema.alterTable('jobs').addColumn('rerun_of', 'text').execute()
        await db.schema.alterTable('jobs').addColumn('rerun_rows', 'text').execute()
        await db.schema.createIndex('jobs_rerun_of').on('jobs').column('rerun_of').execute()
        // Retention finds old terminal jobs by when they ended, and what hangs from them by job.
        await db.schema.createIndex('jobs_finished').on('jobs').columns(['finished_at', 'id']).execute()
        await db.schema.createIndex('callback_outbox_job').on('callback_outbox').column('job_id').execute()
        await db.schema.createIndex('idempotency_keys_job').on('idempotency_keys').column('job_id').execute()
        await db.schema.createIndex('webhook_events_received').on('webhook_events').column('received_at').execute()
        // Background work done once across replicas: a lease per task and when it is next due.
        await db.schema.createTable('maintenance_tasks')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('owner', 'text')
          .addColumn('lease_expires_at', 'bigint')
          .addColumn('next_run_at', 'bigint', (c) => c.notNull())
          .addColumn('last_finished_at', 'bigint')
          .addColumn('last_outcome', 'text')
          .execute()
        await db.insertInto('maintenance_tasks').values({ name: 'retention', next_run_at: 0 }).execute()
        // Every audit archive file written, so an offline verification can name a missing one.
        await db.schema.createTable('audit_archives')
          .addColumn('file', 'text', (c) => c.primaryKey())
          .addColumn('first_seq', 'bigint', (c) => c.notNull().unique())
          .addColumn('last_seq', 'bigint', (c) => c.notNull())
          .addColumn('records', 'integer', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull())
          .addColumn('archived_at', 'bigint', (c) => c.notNull())
          .execute()
      }
    },
    '0011_schedules': {
      async up (db: Kysely<any>) {
        await db.schema.createTable('schedules')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('team', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('cron', 'text', (c) => c.notNull())
          .addColumn('time_zone', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('labels', 'text', (c) => c.notNull())
          .addColumn('callback_url', 'text')
          .addColumn('overlap', 'text', (c) => c.notNull())
          .addColumn('catch_up', 'text', (c) => c.notNull())
          .addColumn('enabled', 'integer', (c) => c.notNull())
          // The next tick not yet handled; null while disabled. Advanced with the tick's record.
          .addColumn('next_tick_at', 'bigint')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('schedules_team_name', ['team', 'name'])
          .execute()
        await db.schema.createIndex('schedules_due').on('schedules').column('next_tick_at').execute()
        await db.schema.createIndex('schedules_team_created').on('schedules').columns(['team', 'created_at', 'id']).execute()
        // One row per tick of a schedule: its key is what makes a tick create one job across replicas.
        await db.schema.createTable('schedule_runs')
          .addColumn('schedule_id', 'text', (c) => c.notNull())
          .addColumn('tick_at', 'bigint', (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('job_id', 'text')
          .addColumn('catch_up', 'integer', (c) => c.notNull())
          .addColumn('reason', 'text')
          .addColumn('recorded_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('schedule_runs_pk', ['schedule_id', 'tick_at'])
          .execute()
        await db.schema.createIndex('schedule_runs_recorded').on('schedule_runs').column('recorded_at').execute()
      }
    },
    '0012_job_priority': {
      async up (db: Kysely<any>) {
        // A job's turns among its team's jobs at the Genesys pacer (high, normal, low); jobs
        // submitted before it existed are normal, as a submission without one is.
        await db.schema.alterTable('jobs').addColumn('priority', 'text', (c) => c.notNull().defaultTo('normal')).execute()
      }
    }
  }
}

/** Applies the migrations not yet applied: all of them, or (for a test of one migration) up to `upTo`. */
export async function migrate (db: Kysely<any>, dialect: DialectName, upTo?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(dialect) }
  })
  const { error, results } = upTo === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(upTo)
  const failed = results?.find((r) => r.status === 'Error')
  if (error !== undefined) {
    throw new Error(`Database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error).message ?? error)}`, { cause: error })
  }
}
