import { sql, type RawBuilder } from 'kysely'
import { TERMINAL_STATUSES } from '../schemas/job.ts'
import type { Connection, DialectName } from './schema.ts'

/** A finished job as the latency statistics see it. */
export interface FinishedSample {
  createdAt: number
  finishedAt: number
  /** `result.cacheHit` when it is a boolean. */
  cacheHit: boolean | null
  /** `result.latencyMs` when it is a number. */
  latencyMs: number | null
}

/** One of the newest jobs of a kind. */
export interface RecentJob {
  id: string
  status: string
  createdAt: number
  finishedAt: number | null
  cacheHit: boolean | null
}

/** What the database holds about one kind: jobs per status, a window of finished jobs, the newest jobs. */
export interface KindRows {
  counts: Readonly<Record<string, number>>
  finished: readonly FinishedSample[]
  recent: readonly RecentJob[]
}

const UNFINISHED = ['queued', 'running', 'waiting'] as const

/**
 * `result.cacheHit` as 1/0 (null when not a boolean) and `result.latencyMs` (null when not a
 * number), extracted in the database so only two numbers per job cross the wire.
 */
function resultFields (dialect: DialectName): { cacheHit: RawBuilder<number | null>, latencyMs: RawBuilder<number | null> } {
  const result = sql.ref('result')
  if (dialect === 'postgres') {
    return {
      cacheHit: sql<number | null>`case jsonb_typeof(${result}::jsonb -> 'cacheHit') when 'boolean' then case when ${result}::jsonb ->> 'cacheHit' = 'true' then 1 else 0 end end`,
      latencyMs: sql<number | null>`case when jsonb_typeof(${result}::jsonb -> 'latencyMs') = 'number' then (${result}::jsonb ->> 'latencyMs')::float8 end`
    }
  }
  return {
    cacheHit: sql<number | null>`case json_type(${result}, '$.cacheHit') when 'true' then 1 when 'false' then 0 end`,
    latencyMs: sql<number | null>`case when json_type(${result}, '$.latencyMs') in ('integer', 'real') then json_extract(${result}, '$.latencyMs') end`
  }
}

const toBool = (v: number | null): boolean | null => v === null ? null : Number(v) === 1

/** Read-only statistics over all jobs, for `/metrics` and `/v1/metrics`. */
export function createStatsRepository (db: Connection, dialect: DialectName) {
  return {
    /** Jobs not yet finished, per status (every unfinished status present, 0 when none). */
    async unfinishedByStatus (): Promise<Record<typeof UNFINISHED[number], number>> {
      const rows = await db.selectFrom('jobs').select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', 'in', [...UNFINISHED]).groupBy('status').execute()
      const count = (status: string) => Number(rows.find((r) => r.status === status)?.n ?? 0)
      return { queued: count('queued'), running: count('running'), waiting: count('waiting') }
    },

    /**
     * Per kind: counts over all its jobs, its `window` newest finished jobs and its `recent`
     * newest jobs.
     */
    async kindRows (window: number, recentCount: number): Promise<Map<string, KindRows>> {
      const counts = await db.selectFrom('jobs')
        .select(['kind', 'status', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy(['kind', 'status'])
        .execute()
      const byKind = new Map<string, Record<string, number>>()
      for (const row of counts) {
        const entry = byKind.get(row.kind) ?? {}
        entry[row.status] = Number(row.n)
        byKind.set(row.kind, entry)
      }
      const fields = resultFields(dialect)
      const out = new Map<string, KindRows>()
      await Promise.all([...byKind].map(async ([kind, kindCounts]) => {
        const [finished, recent] = await Promise.all([
          db.selectFrom('jobs')
            .select(['createdAt', 'finishedAt', fields.cacheHit.as('cacheHit'), fields.latencyMs.as('latencyMs')])
            .where('kind', '=', kind)
            .where('status', 'in', [...TERMINAL_STATUSES])
            .where('finishedAt', 'is not', null)
            .orderBy('createdAt', 'desc').orderBy('id', 'desc')
            .limit(window)
            .execute(),
          db.selectFrom('jobs')
            .select(['id', 'status', 'createdAt', 'finishedAt', fields.cacheHit.as('cacheHit')])
            .where('kind', '=', kind)
            .orderBy('createdAt', 'desc').orderBy('id', 'desc')
            .limit(recentCount)
            .execute()
        ])
        out.set(kind, {
          counts: kindCounts,
          finished: finished.map((r) => ({
            createdAt: Number(r.createdAt),
            finishedAt: Number(r.finishedAt),
            cacheHit: toBool(r.cacheHit),
            latencyMs: r.latencyMs === null ? null : Number(r.latencyMs)
          })),
          recent: recent.map((r) => ({
            id: r.id,
            status: r.status,
            createdAt: Number(r.createdAt),
            finishedAt: r.finishedAt === null ? null : Number(r.finishedAt),
            cacheHit: toBool(r.cacheHit)
          }))
        })
      }))
      return out
    }
  }
}

export type StatsRepository = ReturnType<typeof createStatsRepository>
