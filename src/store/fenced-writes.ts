import { randomUUID } from 'node:crypto'
import { sql, type CompiledQuery, type QueryResult, type RawBuilder } from 'kysely'
import type { Connection, DialectName } from './schema.ts'
import type { JobPatch, JobRow } from './jobs-repository.ts'
import { CHANNEL } from './wakeups.ts'
import { prepareOnPostgres } from './precompiled.ts'

/**
 * The writes a worker makes between its claim and the job's Genesys calls, each one atomic and,
 * on PostgreSQL, one statement (data-modifying CTEs): one round trip where a transaction of the
 * same statements takes four to six (BEGIN, each statement, COMMIT). On SQLite the same
 * statements run in one transaction (there are no round trips; the commit is what costs).
 */

/** A timeline entry written with a fenced write. */
export interface FencedEntry { type: string, data: Record<string, unknown> }

export interface FencedWrite {
  jobId: string
  /** The lease token: nothing is written unless the job still carries it. */
  token: string
  at: number
  patch: JobPatch
  timeline?: FencedEntry[]
  /** The write records the outcome of the job's side effects: their marks go with it. */
  settleEffects?: boolean
  /** Marks a side effect as about to be sent (job_effects), durably, with the write. */
  mark?: { key: string, item: number | null, claim: number }
}

export interface Claimed {
  row: JobRow
  previousStatus: string
  /** When the next job after this one falls due (run_at of a queued or waiting job, or an expiring lease); undefined when none waits. */
  nextDueAt: number | undefined
}

/** The `status` entry a claim puts on the job's timeline (SQLite; PostgreSQL builds the same in SQL). */
function claimEntry (claimed: Omit<Claimed, 'nextDueAt'>, owner: string): Record<string, unknown> {
  const { row, previousStatus } = claimed
  return { from: previousStatus, to: 'running', worker: owner, attempt: row.claims, ...(row.claims > 1 ? { resumedAt: row.step } : {}) }
}

/** Runs inside a transaction on SQLite: the fence, then what goes with it. */
async function fencedWriteSqlite (db: Connection, w: FencedWrite): Promise<boolean> {
  const result = await db.updateTable('jobs').set(w.patch).where('id', '=', w.jobId).where('leaseToken', '=', w.token).executeTakeFirst()
  if (result.numUpdatedRows === 0n) return false
  const timeline = w.timeline ?? []
  if (timeline.length > 0) {
    await db.insertInto('jobEvents').values(timeline.map((e) => ({ jobId: w.jobId, type: e.type, at: w.at, data: JSON.stringify(e.data) }))).execute()
  }
  if (w.settleEffects === true) await db.deleteFrom('jobEffects').where('jobId', '=', w.jobId).execute()
  if (w.mark !== undefined) {
    const mark = { jobId: w.jobId, key: w.mark.key, item: w.mark.item, markedAt: w.at, claim: w.mark.claim }
    await db.insertInto('jobEffects').values(mark)
      .onConflict((oc) => oc.columns(['jobId', 'key']).doUpdateSet({ markedAt: mark.markedAt, claim: mark.claim, item: mark.item }))
      .execute()
  }
  return true
}

/** Runs a statement whose text is one of a few (they vary only with the number of entries): kept prepared. */
async function executePrepared<R> (db: Connection, statement: RawBuilder<unknown>, options?: { resultFixed: boolean }): Promise<QueryResult<R>> {
  const compiled = statement.compile(db)
  prepareOnPostgres(compiled.sql, options)
  return await db.executeQuery<R>(compiled as CompiledQuery<R>)
}

/** One statement on PostgreSQL: every part hangs on the fenced UPDATE, so none happens without it. */
async function fencedWritePostgres (db: Connection, w: FencedWrite): Promise<boolean> {
  const fence = db.updateTable('jobs').set(w.patch).where('id', '=', w.jobId).where('leaseToken', '=', w.token).returning('id')
  const parts = [sql`with fenced as (${fence})`]
  const timeline = w.timeline ?? []
  if (timeline.length > 0) {
    // The ordinal keeps the entries' sequence numbers in the order given.
    const rows = sql.join(timeline.map((e, i) => sql`(${i}::integer, ${e.type}::text, ${JSON.stringify(e.data)}::text)`))
    parts.push(sql`, timeline as (insert into job_events (job_id, at, type, data) select fenced.id, ${w.at}::bigint, v.type, v.data from fenced cross join (values ${rows}) as v(ord, type, data) order by v.ord)`)
  }
  if (w.settleEffects === true) parts.push(sql`, settled as (delete from job_effects where job_id in (select id from fenced))`)
  if (w.mark !== undefined) {
    parts.push(sql`, marked as (insert into job_effects (job_id, key, item, marked_at, claim) select fenced.id, ${w.mark.key}::text, ${w.mark.item}::integer, ${w.at}::bigint, ${w.mark.claim}::integer from fenced
      on conflict (job_id, key) do update set marked_at = excluded.marked_at, claim = excluded.claim, item = excluded.item)`)
  }
  parts.push(sql` select count(*)::integer as n from fenced`)
  const { rows } = await executePrepared<{ n: number }>(db, sql.join(parts, sql``))
  return (rows[0]?.n ?? 0) > 0
}

/** Leases the due job first in line and records the claim on its timeline, in one statement. */
async function claimPostgres (db: Connection, owner: string, leaseMs: number, now: number): Promise<Claimed | undefined> {
  const { rows } = await executePrepared(db, sql`
    with candidate as (
      select id, status from jobs
      where (status in ('queued', 'waiting') and run_at <= ${now}::bigint) or (status = 'running' and lease_expires_at < ${now}::bigint)
      order by run_at limit 1
      for update skip locked
    ), claimed as (
      update jobs set status = 'running', lease_owner = ${owner}::text, lease_token = ${randomUUID()}::text,
        lease_expires_at = ${now + leaseMs}::bigint, claims = jobs.claims + 1,
        woken_at = null, started_at = coalesce(jobs.started_at, ${now}::bigint), wait_reason = null, updated_at = ${now}::bigint
      from candidate where jobs.id = candidate.id
      returning jobs.*, candidate.status as previous_status
    ), entry as (
      insert into job_events (job_id, at, type, data)
      select id, ${now}::bigint, 'status', (jsonb_build_object('from', previous_status, 'to', 'running', 'worker', ${owner}::text, 'attempt', claims)
        || case when claims > 1 then jsonb_build_object('resumedAt', step) else '{}'::jsonb end)::text
      from claimed
    )
    select to_jsonb(claimed) as claimed, (
      select min(case when status = 'running' then lease_expires_at else run_at end) from jobs
      where status in ('queued', 'waiting', 'running') and id <> claimed.id
    ) as next_due_at
    from claimed`, { resultFixed: true })
  // The row comes as one jsonb value, so the prepared statement's result type stays the same
  // when a migration adds a column (see STAR_RESULT in precompiled.ts); its keys are snake_case.
  const first = rows[0] as { claimed: Record<string, unknown>, nextDueAt: number | string | null } | undefined
  if (first === undefined) return undefined
  // (The CamelCase plugin renames nested keys too; renaming again is harmless.)
  const columns = Object.fromEntries(Object.entries(first.claimed).map(([k, v]) => [k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), v]))
  const { previousStatus, ...row } = columns
  return { row: row as unknown as JobRow, previousStatus: String(previousStatus), nextDueAt: first.nextDueAt === null ? undefined : Number(first.nextDueAt) }
}

/** A new job as a submission stores it: the row, its labels and its first timeline entry. */
export interface NewJob { row: JobRow, labels: Record<string, string>, entry: FencedEntry }

/**
 * PostgreSQL: the job, its labels and its first timeline entry in one statement, which also
 * notifies the other processes' workers (delivered when it commits, so never before the job is
 * there). One round trip where a transaction and a separate NOTIFY took five.
 */
export async function insertJobPostgres (db: Connection, job: NewJob): Promise<void> {
  const { row, labels, entry } = job
  const parts = [sql`with job as (${db.insertInto('jobs').values(row).returning('id')})`]
  const pairs = Object.entries(labels)
  if (pairs.length > 0) {
    const rows = sql.join(pairs.map(([k, v]) => sql`(${k}::text, ${v}::text)`))
    parts.push(sql`, labels as (insert into job_labels (job_id, key, value) select job.id, v.key, v.value from job cross join (values ${rows}) as v(key, value))`)
  }
  parts.push(sql`, entry as (insert into job_events (job_id, at, type, data) select job.id, ${row.createdAt}::bigint, ${entry.type}::text, ${JSON.stringify(entry.data)}::text from job)`)
  parts.push(sql` select pg_notify(${CHANNEL}, '') from job`)
  // Jobs without labels (most) share one text, kept prepared.
  if (pairs.length === 0) await executePrepared(db, sql.join(parts, sql``))
  else await sql.join(parts, sql``).execute(db)
}

export interface FencedWrites {
  /** Leases the due job first in line to `owner` and records the claim on its timeline, atomically. */
  claim (owner: string, leaseMs: number, now: number): Promise<Claimed | undefined>
  /** A write of a running job under its lease, with what goes with it, atomically; false: the lease is gone. */
  fencedWrite (w: FencedWrite): Promise<boolean>
}

/**
 * `inTransaction` runs work in one transaction (SQLite); `claimNext` is the SQLite claim of the
 * jobs repository (SELECT, then UPDATE).
 */
export function createFencedWrites (db: Connection, dialect: DialectName,
  inTransaction: <T>(work: (tx: Connection) => Promise<T>) => Promise<T>,
  claimNext: (tx: Connection, owner: string, leaseMs: number, now: number) => Promise<Omit<Claimed, 'nextDueAt'> | undefined>,
  nextDueAt: (tx: Connection) => Promise<number | undefined>): FencedWrites {
  if (dialect === 'postgres') {
    return {
      claim: async (owner, leaseMs, now) => await claimPostgres(db, owner, leaseMs, now),
      fencedWrite: async (w) => await fencedWritePostgres(db, w)
    }
  }
  return {
    claim: async (owner, leaseMs, now) => await inTransaction(async (tx) => {
      const claimed = await claimNext(tx, owner, leaseMs, now)
      if (claimed === undefined) return undefined
      await tx.insertInto('jobEvents').values({ jobId: claimed.row.id, type: 'status', at: now, data: JSON.stringify(claimEntry(claimed, owner)) }).execute()
      return { ...claimed, nextDueAt: await nextDueAt(tx) }
    }),
    fencedWrite: async (w) => await inTransaction(async (tx) => await fencedWriteSqlite(tx, w))
  }
}
