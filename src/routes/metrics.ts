import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { sql, type Kysely, type RawBuilder } from 'kysely'
import { Type, type Static } from 'typebox'
import { errorResponses } from '../schemas/common.ts'
import { JobStatusSchema } from '../schemas/job.ts'
import { bearerSecurity } from '../plugins/auth.ts'
import { TERMINAL_STATUSES } from '../jobs/kind.ts'
import type { DialectName } from '../store/database.ts'
import type { Database } from '../store/schema.ts'

/** At most this many of the newest finished jobs per kind feed the latency and cache statistics. */
export const LATENCY_WINDOW = 10_000
/** How many of the newest jobs per kind `last10` lists. */
export const RECENT_JOBS = 10
/** Kinds that execute one Genesys action per job: these also report calls and the action's own latency. */
export const ACTION_KINDS: ReadonlySet<string> = new Set(['custom-code', 'data-action'])

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

const round2 = (x: number) => Math.round(x * 100) / 100

/** Nearest-rank percentile (`p` in 0..100) of values sorted ascending; null when there are none. */
export function percentile (sorted: readonly number[], p: number): number | null {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`)
  if (sorted.length === 0) return null
  // p * n is an exact integer for integer p, so the division only rounds when the rank is fractional.
  const rank = Math.max(1, Math.ceil(p * sorted.length / 100))
  return sorted[rank - 1]!
}

/** The arithmetic mean rounded to 0.01; null when there are no values. */
export function mean (values: readonly number[]): number | null {
  if (values.length === 0) return null
  let sum = 0
  for (const v of values) sum += v
  return round2(sum / values.length)
}

const NullableNumber = (description: string) => Type.Union([Type.Number(), Type.Null()], { description })

export const RecentJobSchema = Type.Object({
  id: Type.String(),
  status: JobStatusSchema,
  createdAt: Type.String({ format: 'date-time' }),
  durationMs: NullableNumber('finishedAt − createdAt; null while the job is not finished'),
  cacheHit: Type.Union([Type.Boolean(), Type.Null()], { description: '`result.cacheHit`; null when the result does not say' })
})

export const KindMetricsSchema = Type.Object({
  total: Type.Integer({ minimum: 0, description: 'Jobs of this kind' }),
  succeeded: Type.Integer({ minimum: 0 }),
  failed: Type.Integer({ minimum: 0 }),
  cancelled: Type.Integer({ minimum: 0 }),
  timedOut: Type.Integer({ minimum: 0 }),
  running: Type.Integer({ minimum: 0, description: 'Jobs not yet finished: queued, running or waiting' }),
  successRate: NullableNumber('succeeded ÷ finished (succeeded + failed + cancelled + timedOut); null when none finished'),
  latencyMs: Type.Object({
    avg: NullableNumber('Mean of finishedAt − createdAt, rounded to 0.01 ms'),
    p50: NullableNumber('Nearest-rank median of finishedAt − createdAt'),
    p95: NullableNumber('Nearest-rank 95th percentile of finishedAt − createdAt'),
    sampleSize: Type.Integer({ minimum: 0, maximum: LATENCY_WINDOW, description: `Finished jobs these figures come from (the newest ${LATENCY_WINDOW})` })
  }, { description: 'Submission-to-finish time of finished jobs; null when none finished' }),
  cacheHits: Type.Integer({ minimum: 0, description: 'Finished jobs (within the sample) whose result has `cacheHit: true`' }),
  totalCalls: Type.Optional(Type.Integer({ minimum: 0, description: 'custom-code and data-action only: jobs submitted (= total)' })),
  avgExecutionLatencyMs: Type.Optional(NullableNumber('custom-code and data-action only: mean of `result.latencyMs` over sampled jobs that have it (cache hits count as 0)')),
  last10: Type.Array(RecentJobSchema, { maxItems: RECENT_JOBS, description: 'The newest jobs of this kind, newest first' })
})

export const MetricsSummarySchema = Type.Object({
  generatedAt: Type.String({ format: 'date-time' }),
  kinds: Type.Record(Type.String(), KindMetricsSchema, { description: 'One entry per job kind that has jobs' })
})

export type KindMetrics = Static<typeof KindMetricsSchema>
export type MetricsSummary = Static<typeof MetricsSummarySchema>

/** The summary of one kind, from its rows; pure, so it can be tested without a database. */
export function summarizeKind (kind: string, rows: KindRows): KindMetrics {
  const count = (status: string) => rows.counts[status] ?? 0
  const total = Object.values(rows.counts).reduce((a, b) => a + b, 0)
  const succeeded = count('succeeded')
  const failed = count('failed')
  const cancelled = count('cancelled')
  const timedOut = count('timed_out')
  const finishedCount = succeeded + failed + cancelled + timedOut
  const durations = rows.finished.map((j) => j.finishedAt - j.createdAt).sort((a, b) => a - b)
  const summary: KindMetrics = {
    total,
    succeeded,
    failed,
    cancelled,
    timedOut,
    running: count('queued') + count('running') + count('waiting'),
    successRate: finishedCount === 0 ? null : succeeded / finishedCount,
    latencyMs: { avg: mean(durations), p50: percentile(durations, 50), p95: percentile(durations, 95), sampleSize: durations.length },
    cacheHits: rows.finished.filter((j) => j.cacheHit === true).length,
    last10: rows.recent.slice(0, RECENT_JOBS).map((j) => ({
      id: j.id,
      status: j.status as KindMetrics['last10'][number]['status'],
      createdAt: new Date(j.createdAt).toISOString(),
      durationMs: j.finishedAt === null ? null : j.finishedAt - j.createdAt,
      cacheHit: j.cacheHit
    }))
  }
  if (ACTION_KINDS.has(kind)) {
    summary.totalCalls = total
    summary.avgExecutionLatencyMs = mean(rows.finished.flatMap((j) => j.latencyMs === null ? [] : [j.latencyMs]))
  }
  return summary
}

/** The whole summary: one entry per kind that has jobs, in name order. */
export function buildMetrics (rowsByKind: ReadonlyMap<string, KindRows>, now: number): MetricsSummary {
  const kinds: Record<string, KindMetrics> = {}
  for (const kind of [...rowsByKind.keys()].sort()) {
    const rows = rowsByKind.get(kind)!
    if (Object.values(rows.counts).some((n) => n > 0)) kinds[kind] = summarizeKind(kind, rows)
  }
  return { generatedAt: new Date(now).toISOString(), kinds }
}

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

/** Reads what `buildMetrics` needs: counts over all jobs, a bounded window and the newest jobs per kind. */
export async function loadKindRows (db: Kysely<Database>, dialect: DialectName): Promise<Map<string, KindRows>> {
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
        .limit(LATENCY_WINDOW)
        .execute(),
      db.selectFrom('jobs')
        .select(['id', 'status', 'createdAt', 'finishedAt', fields.cacheHit.as('cacheHit')])
        .where('kind', '=', kind)
        .orderBy('createdAt', 'desc').orderBy('id', 'desc')
        .limit(RECENT_JOBS)
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

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/metrics', {
    config: { scope: 'metrics:read' },
    schema: {
      tags: ['Metrics'],
      security: bearerSecurity,
      summary: 'Job statistics per kind, as JSON',
      description:
        'Computed from the database on each request, so every replica answers the same. Per kind that has jobs: ' +
        'counts by outcome (`running` counts queued, running and waiting jobs), the success rate over finished jobs, ' +
        'the submission-to-finish latency (mean, nearest-rank p50 and p95), cache hits and, for `custom-code` and ' +
        '`data-action`, the calls made and the mean `result.latencyMs`, plus the 10 newest jobs. Counts cover every job; ' +
        `latency, cache-hit and execution-latency figures cover at most the ${LATENCY_WINDOW} newest finished jobs per kind ` +
        '(`latencyMs.sampleSize` says how many). For scraping, use the Prometheus metrics at `/metrics`.',
      response: {
        200: MetricsSummarySchema,
        ...errorResponses(401, 403)
      }
    }
  }, async () => buildMetrics(await loadKindRows(app.store.db, app.store.dialect), app.now()))
}

export default routes
