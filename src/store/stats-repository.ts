import { TERMINAL_STATUSES } from '../schemas/job.ts'
import type { Connection } from './schema.ts'

/** A finished job as the latency statistics see it. */
export interface FinishedSample {
  createdAt: number
  finishedAt: number
  /** What the job's kind reported (kind.metrics): answered from a cache. */
  cacheHit: boolean | null
  /** What the job's kind reported: how long its Genesys call took. */
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

const toBool = (v: number | null): boolean | null => v === null ? null : Number(v) === 1

/** Read-only statistics over all jobs, for `/metrics` and `/v1/metrics`. */
export function createStatsRepository (db: Connection) {
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
      const out = new Map<string, KindRows>()
      await Promise.all([...byKind].map(async ([kind, kindCounts]) => {
        const [finished, recent] = await Promise.all([
          db.selectFrom('jobs')
            .select(['createdAt', 'finishedAt', 'cacheHit', 'callLatencyMs as latencyMs'])
            .where('kind', '=', kind)
            .where('status', 'in', [...TERMINAL_STATUSES])
            .where('finishedAt', 'is not', null)
            .orderBy('createdAt', 'desc').orderBy('id', 'desc')
            .limit(window)
            .execute(),
          db.selectFrom('jobs')
            .select(['id', 'status', 'createdAt', 'finishedAt', 'cacheHit'])
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
