import { Type } from 'typebox'
import type { Cell } from '../../kind.ts'
import { KPIS, type KpiName, type MetricTotals } from './kpis.ts'

/** Series entries kept per job (queues × intervals): a state and a result that stay a reasonable size. */
export const MAX_SERIES_POINTS = 10_000

/** Per queue, per interval (`from/to` as Genesys names it): the metric totals of that interval. */
export type SeriesTotals = Record<string, Record<string, MetricTotals>>

const UNIT_MS: Record<string, number> = { Y: 365 * 86_400_000, W: 7 * 86_400_000, D: 86_400_000, H: 3_600_000, S: 1000 }

/**
 * At most how many intervals of `granularity` (an ISO-8601 duration) fit in `spanMs`; a month counts
 * as its shortest, 28 days, so the figure is an upper bound. Undefined for a duration of zero.
 */
export function bucketCount (spanMs: number, granularity: string): number | undefined {
  const match = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(granularity)
  if (match === null) return undefined
  const [, y, mo, w, d, h, mi, s] = match.map((v) => Number(v ?? 0))
  const ms = y! * UNIT_MS.Y! + mo! * 28 * 86_400_000 + w! * UNIT_MS.W! + d! * UNIT_MS.D! + h! * UNIT_MS.H! + mi! * 60_000 + s! * UNIT_MS.S!
  return ms <= 0 ? undefined : Math.ceil(spanMs / ms)
}

/** A queue's series: one entry per interval Genesys reported, oldest first, with each KPI's value in it. */
export function seriesOf (intervals: Record<string, MetricTotals>, kpis: readonly KpiName[]): Array<{ interval: string, kpis: Record<string, number | null> }> {
  return Object.entries(intervals)
    .sort(([a], [b]) => Date.parse(a.split('/')[0]!) - Date.parse(b.split('/')[0]!))
    .map(([interval, totals]) => ({ interval, kpis: Object.fromEntries(kpis.map((k) => [k, KPIS[k].value(totals)])) }))
}

const KpiValue = Type.Union([Type.Number(), Type.Null()])

export const RoutingEvaluationResult = Type.Object({
  analyticsJobId: Type.String(),
  interval: Type.Object({ from: Type.String(), to: Type.String() }),
  granularity: Type.Optional(Type.String({ description: 'When the job asked for one: each row then has its `series`' })),
  mediaTypes: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'The media types counted (null: a job submitted before the filter existed, which counted every medium)' }),
  kpis: Type.Array(Type.String()),
  weights: Type.Record(Type.String(), Type.Number()),
  pages: Type.Integer({ description: 'Result pages read' }),
  rows: Type.Array(Type.Object({
    rank: Type.Integer({ description: '1 = best score' }),
    queueId: Type.String(),
    queueName: Type.Union([Type.String(), Type.Null()], { description: 'As GET /api/v2/routing/queues names it; null when Genesys did not say' }),
    score: Type.Number(),
    percentileRank: Type.Number(),
    kpis: Type.Record(Type.String(), Type.Object({ value: KpiValue, normalized: Type.Number() })),
    series: Type.Optional(Type.Array(Type.Object({
      interval: Type.String({ description: 'ISO-8601 `from/to`' }),
      kpis: Type.Record(Type.String(), KpiValue)
    }), { description: 'With a granularity: one entry per interval, oldest first; count KPIs add up to the totals' }))
  })),
  warnings: Type.Array(Type.String())
})

export const ROUTING_RESULT_EXAMPLE = {
  analyticsJobId: '7a6c1d2e-3f40-4b5a-8c6d-7e8f9a0b1c2d',
  interval: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-03T00:00:00.000Z' },
  granularity: 'P1D',
  mediaTypes: ['voice'],
  kpis: ['handledCalls', 'abandonedCalls'],
  weights: { handledCalls: 0.5, abandonedCalls: 0.5 },
  pages: 1,
  rows: [{
    rank: 1,
    queueId: 'dda9caa0-28d0-437d-a6d5-345ba693f4f3',
    queueName: 'Support',
    score: 0.75,
    percentileRank: 1,
    kpis: { handledCalls: { value: 528, normalized: 1 }, abandonedCalls: { value: 24, normalized: 0.5 } },
    series: [
      { interval: '2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z', kpis: { handledCalls: 264, abandonedCalls: 12 } },
      { interval: '2026-11-02T00:00:00.000Z/2026-11-03T00:00:00.000Z', kpis: { handledCalls: 264, abandonedCalls: 12 } }
    ]
  }],
  warnings: []
}

interface ResultRow {
  rank: number
  queueId: string
  queueName?: string | null
  score: number
  percentileRank: number
  kpis: Record<string, { value: number | null }>
  series?: Array<{ interval: string, kpis: Record<string, number | null> }>
}

/**
 * The result as a spreadsheet opens it: a line per queue over the whole interval (with its score
 * and percentile rank), and, with a granularity, a line per queue and interval after it.
 */
export function resultTable (result: unknown): { columns: string[], rows: Cell[][] } {
  const r = result as { interval: { from: string, to: string }, kpis: string[], rows: ResultRow[] }
  const columns = ['rank', 'queueId', 'queueName', 'interval', 'score', 'percentileRank', ...r.kpis]
  const rows: Cell[][] = []
  for (const row of r.rows) {
    rows.push([row.rank, row.queueId, row.queueName ?? null, `${r.interval.from}/${r.interval.to}`, row.score, row.percentileRank, ...r.kpis.map((k) => row.kpis[k]?.value ?? null)])
    for (const entry of row.series ?? []) {
      rows.push([row.rank, row.queueId, row.queueName ?? null, entry.interval, null, null, ...r.kpis.map((k) => entry.kpis[k] ?? null)])
    }
  }
  return { columns, rows }
}
