import { Type, type Static } from 'typebox'
import { JobStatusSchema } from './job.ts'

/** At most this many of the newest finished jobs per kind feed the latency and cache statistics. */
export const LATENCY_WINDOW = 10_000
/** How many of the newest jobs per kind `last10` lists. */
export const RECENT_JOBS = 10

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
