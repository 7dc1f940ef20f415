import { randomUUID } from 'node:crypto'
import type { Selectable, SelectQueryBuilder, Updateable } from 'kysely'
import type { Connection, Database, DialectName, JobsTable } from './schema.ts'
import { precompiled, precompiledInsert } from './precompiled.ts'

export type JobRow = Selectable<JobsTable>
/** The columns a write may change. */
export type JobPatch = Omit<Updateable<JobsTable>, 'id'>

/** The columns that can be large (a 5 000-row dataset, its result, a kind's state): read only when asked for. */
export interface LargeColumns { input?: boolean, result?: boolean }
/** A job read for showing: every column but `state`, and `input` and `result` only when asked for. */
export type JobSummaryRow = Omit<JobRow, 'input' | 'result' | 'state' | 'rerunRows'> & { input?: string, result?: string | null }

const SUMMARY_COLUMNS = [
  'id', 'kind', 'status', 'caller', 'labels', 'callbackUrl', 'step', 'stepAttempt', 'error', 'progressDone', 'progressTotal',
  'waitReason', 'runAt', 'deadlineAt', 'leaseOwner', 'leaseToken', 'leaseExpiresAt', 'claims', 'cancelRequested', 'createdAt',
  'startedAt', 'finishedAt', 'updatedAt', 'remoteRef', 'cacheHit', 'callLatencyMs', 'team', 'cancelledBy', 'wokenAt', 'priority', 'rerunOf'
] as const satisfies ReadonlyArray<keyof JobsTable>
const summaryColumns = (large: LargeColumns): Array<keyof JobsTable> =>
  [...SUMMARY_COLUMNS, ...(large.input === true ? ['input' as const] : []), ...(large.result === true ? ['result' as const] : [])]

export interface JobListFilter {
  /** Only this team's jobs; every team's when absent (a jobs:admin caller). */
  team?: string
  kind?: string
  status?: string
  labels?: Array<[string, string]>
  /** Jobs created at or after this instant (epoch ms). */
  createdAfter?: number
  /** Jobs created before this instant (epoch ms). */
  createdBefore?: number
  /** The large columns to read too; none by default. */
  large?: LargeColumns
  limit: number
  /** Jobs strictly older than this (createdAt, id) pair: the last row of the previous page. */
  before?: { createdAt: number, id: string }
}

/** The filters a count takes: a list's, without status (it is what is counted) and paging. */
export type JobCountFilter = Pick<JobListFilter, 'team' | 'kind' | 'labels' | 'createdAfter' | 'createdBefore'>

/** The WHERE clauses a list and a count share: team, kind, creation span and labels (all of them). */
function matching<Q extends SelectQueryBuilder<Database, 'jobs', any>> (query: Q, filter: JobCountFilter): Q {
  let q = query as SelectQueryBuilder<Database, 'jobs', any>
  if (filter.team !== undefined) q = q.where('team', '=', filter.team)
  if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind)
  if (filter.createdAfter !== undefined) q = q.where('createdAt', '>=', filter.createdAfter)
  if (filter.createdBefore !== undefined) q = q.where('createdAt', '<', filter.createdBefore)
  for (const [key, value] of filter.labels ?? []) {
    q = q.where(({ exists, selectFrom }) => exists(
      selectFrom('jobLabels').select('jobLabels.jobId')
        .whereRef('jobLabels.jobId', '=', 'jobs.id').where('jobLabels.key', '=', key).where('jobLabels.value', '=', value)
    ))
  }
  return q as Q
}

// The statements of a submission and of an inbound event, compiled once (precompiled.ts).
const insertJob = precompiledInsert('jobs')
const getJob = precompiled<[string]>(1, (db, id) => db.selectFrom('jobs').selectAll().where('id', '=', id!))
const markWoken = precompiled<[number, string]>(2, (db, now, id) => db.updateTable('jobs').set({ wokenAt: now as never })
  .where('id', '=', id!).where('status', 'in', ['queued', 'running', 'waiting']))
const bringForward = precompiled<[number, string]>(2, (db, now, id) => db.updateTable('jobs').set({ runAt: now as never, updatedAt: now as never })
  .where('id', '=', id!).where('status', '=', 'waiting').where('runAt', '>', now as never))

export function createJobsRepository (db: Connection, dialect: DialectName) {
  return {
    async insert (row: JobRow): Promise<void> {
      await insertJob(db, row)
    },

    async get (id: string): Promise<JobRow | undefined> {
      return (await getJob.run<JobRow>(db, id)).rows[0]
    },

    /** One job without `state`, and without `input` and `result` unless asked for. */
    async getSummary (id: string, large: LargeColumns = {}): Promise<JobSummaryRow | undefined> {
      return await db.selectFrom('jobs').select(summaryColumns(large)).where('id', '=', id).executeTakeFirst() as JobSummaryRow | undefined
    },

    async list (filter: JobListFilter): Promise<JobSummaryRow[]> {
      let query = matching(db.selectFrom('jobs').select(summaryColumns(filter.large ?? {})), filter)
      if (filter.status !== undefined) query = query.where('status', '=', filter.status)
      const before = filter.before
      if (before !== undefined) {
        query = query.where((eb) => eb.or([
          eb('createdAt', '<', before.createdAt),
          eb.and([eb('createdAt', '=', before.createdAt), eb('id', '<', before.id)])
        ]))
      }
      return await query.orderBy('createdAt', 'desc').orderBy('id', 'desc').limit(filter.limit).execute() as JobSummaryRow[]
    },

    /** How many jobs have each status among those the filter matches (statuses without jobs are absent). */
    async countByStatus (filter: JobCountFilter): Promise<Record<string, number>> {
      const rows = await matching(db.selectFrom('jobs').select(['status', (eb) => eb.fn.countAll<number>().as('n')]), filter)
        .groupBy('status').execute()
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]))
    },

    /**
     * Leases the job that is due first to `owner`: queued or waiting jobs whose time has come, and
     * running jobs whose lease expired (their worker died). Two statements, so it must run in a
     * transaction: a SELECT of the candidate (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so replicas
     * pass over each other's candidates; SQLite's write transaction is exclusive anyway), then an
     * UPDATE of that row. A fresh token fences every later write. `previousStatus` is what the job was.
     */
    async claimNext (owner: string, leaseMs: number, now: number): Promise<{ row: JobRow, previousStatus: string } | undefined> {
      const candidate = await db.selectFrom('jobs').select(['id', 'status'])
        .where((w) => w.or([
          w.and([w('status', 'in', ['queued', 'waiting']), w('runAt', '<=', now)]),
          w.and([w('status', '=', 'running'), w('leaseExpiresAt', '<', now)])
        ]))
        .orderBy('runAt').limit(1)
        .$if(dialect === 'postgres', (q) => q.forUpdate().skipLocked())
        .executeTakeFirst()
      if (candidate === undefined) return undefined
      const row = await db.updateTable('jobs')
        .set((eb) => ({
          status: 'running',
          leaseOwner: owner,
          leaseToken: randomUUID(),
          leaseExpiresAt: now + leaseMs,
          claims: eb('claims', '+', 1),
          // A wake before this claim is answered by it; one during it is honoured when the job parks.
          wokenAt: null,
          startedAt: eb.fn.coalesce('startedAt', eb.val(now)),
          waitReason: null,
          updatedAt: now
        }))
        .where('id', '=', candidate.id)
        .returningAll()
        .executeTakeFirstOrThrow()
      return { row, previousStatus: candidate.status }
    },

    /** The earliest moment a job could become claimable, so an idle worker sleeps exactly that long. */
    async nextDueAt (): Promise<number | undefined> {
      const row = await db.selectFrom('jobs')
        .select((eb) => [
          eb.fn.min<number | null>(eb.case().when('status', 'in', ['queued', 'waiting']).then(eb.ref('runAt'))
            .when('status', '=', 'running').then(eb.ref('leaseExpiresAt')).end()).as('due')
        ])
        .where('status', 'in', ['queued', 'waiting', 'running'])
        .executeTakeFirst()
      return row?.due ?? undefined
    },

    /** Extends a lease; `undefined` means another worker owns the job now. */
    async renewLease (id: string, token: string, expiresAt: number): Promise<{ cancelRequested: boolean } | undefined> {
      const row = await db.updateTable('jobs').set({ leaseExpiresAt: expiresAt })
        .where('id', '=', id).where('leaseToken', '=', token)
        .returning('cancelRequested').executeTakeFirst()
      return row === undefined ? undefined : { cancelRequested: row.cancelRequested === 1 }
    },

    /** Every write of a running job goes through here: false means the lease was lost. */
    async fencedUpdate (id: string, token: string, patch: JobPatch): Promise<boolean> {
      const result = await db.updateTable('jobs').set(patch)
        .where('id', '=', id).where('leaseToken', '=', token).executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /**
     * Records progress under the lease. `done` only moves forward: item saves that commit out of
     * order (several at once on PostgreSQL) never take it back. False means the lease was lost.
     */
    async fencedProgress (id: string, token: string, progress: { done: number, total: number }, at: number): Promise<boolean> {
      const result = await db.updateTable('jobs')
        .set((eb) => ({
          progressDone: eb.case().when(eb.or([eb('progressDone', 'is', null), eb('progressDone', '<', progress.done)])).then(eb.val(progress.done)).else(eb.ref('progressDone')).end(),
          progressTotal: progress.total,
          updatedAt: at
        }))
        .where('id', '=', id).where('leaseToken', '=', token).executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /** Moves a job nobody is running straight to a terminal state (cancel of a queued job). */
    async updateIfIdle (id: string, patch: JobPatch): Promise<boolean> {
      const result = await db.updateTable('jobs').set(patch)
        .where('id', '=', id).where('status', 'in', ['queued', 'waiting']).executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /** The jobs that re-run this one, oldest first, with their teams (the caller sees only some). */
    async rerunsOf (id: string): Promise<Array<{ id: string, team: string }>> {
      return await db.selectFrom('jobs').select(['id', 'team']).where('rerunOf', '=', id).orderBy('createdAt').orderBy('id').execute()
    },

    /** The newest job that follows this remote object (a flow execution, an evaluation). */
    async findByRemoteRef (ref: string): Promise<JobRow | undefined> {
      return await db.selectFrom('jobs').selectAll().where('remoteRef', '=', ref).orderBy('createdAt', 'desc').executeTakeFirst()
    },

    /** Asks the worker running the job to stop; `by` names who asked ({ key, team } as JSON). */
    async requestCancel (id: string, by: string, now: number): Promise<boolean> {
      const result = await db.updateTable('jobs').set({ cancelRequested: 1, cancelledBy: by, updatedAt: now })
        .where('id', '=', id).where('status', 'in', ['queued', 'running', 'waiting']).executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /** Brings a waiting job forward, e.g. when the event it waits for arrives. */
    async wake (id: string, now: number): Promise<boolean> {
      // A job that is running is woken when its step parks it (runNowIfWoken): the request is kept.
      await markWoken.run(db, now, id)
      const result = await bringForward.run(db, now, id)
      return (result.numAffectedRows ?? 0n) > 0n
    },

    /**
     * A job just parked by a step: due at once if an event woke it during this claim (a claim clears
     * the request), or if a cancel was asked for while the step ran, so the next claim ends it now.
     */
    async runNowIfWoken (id: string, now: number, { cancelOnly = false } = {}): Promise<boolean> {
      const result = await db.updateTable('jobs').set({ runAt: now, wokenAt: null })
        .where('id', '=', id).where('status', '=', 'waiting').where('runAt', '>', now)
        .where((eb) => cancelOnly ? eb('cancelRequested', '=', 1) : eb.or([eb('wokenAt', 'is not', null), eb('cancelRequested', '=', 1)]))
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    }
  }
}

export type JobsRepository = ReturnType<typeof createJobsRepository>
