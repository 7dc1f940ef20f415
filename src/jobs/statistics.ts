import type { Store } from '../store/database.ts'
import type { JobKind } from './kind.ts'
import type { KindRows } from '../store/stats-repository.ts'
import { LATENCY_WINDOW, RECENT_JOBS, type KindMetrics, type MetricsSummary } from '../schemas/metrics.ts'

export type { FinishedSample, KindRows, RecentJob } from '../store/stats-repository.ts'

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

/**
 * The summary of one kind, from its rows; pure, so it can be tested without a database. `reportsCalls`:
 * the kind reports the latency of its one Genesys call per job (kind.metrics), so calls are counted too.
 */
export function summarizeKind (rows: KindRows, reportsCalls: boolean): KindMetrics {
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
  if (reportsCalls) {
    summary.totalCalls = total
    summary.avgExecutionLatencyMs = mean(rows.finished.flatMap((j) => j.latencyMs === null ? [] : [j.latencyMs]))
  }
  return summary
}

/** The whole summary: one entry per kind that has jobs, in name order; `callKinds` report their calls. */
export function buildMetrics (rowsByKind: ReadonlyMap<string, KindRows>, now: number, callKinds: ReadonlySet<string>): MetricsSummary {
  const kinds: Record<string, KindMetrics> = {}
  for (const kind of [...rowsByKind.keys()].sort()) {
    const rows = rowsByKind.get(kind)!
    if (Object.values(rows.counts).some((n) => n > 0)) kinds[kind] = summarizeKind(rows, callKinds.has(kind))
  }
  return { generatedAt: new Date(now).toISOString(), kinds }
}

/** Job statistics per kind, computed from the database, so every replica answers the same. */
export async function jobStatistics (store: Store, kinds: ReadonlyMap<string, JobKind>, now: number): Promise<MetricsSummary> {
  const callKinds = new Set([...kinds.values()].filter((k) => k.metrics !== undefined).map((k) => k.name))
  return buildMetrics(await store.stats.kindRows(LATENCY_WINDOW, RECENT_JOBS), now, callKinds)
}
