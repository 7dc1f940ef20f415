import type { AggregateStats } from '../../../clients/genesys/analytics.ts'

/** The conversation aggregate metrics one queue's totals are read from. */
export type MetricTotals = Record<string, { count: number, sum: number }>

export interface Kpi {
  /** Genesys aggregate metrics the KPI is computed from. */
  metrics: string[]
  higherIsBetter: boolean
  description: string
  /** The KPI's value for one queue, or null when there is nothing to compute it from. */
  value (totals: MetricTotals): number | null
}

const count = (t: MetricTotals, m: string) => t[m]?.count ?? 0
const ratio = (num: number, den: number) => (den > 0 ? num / den : null)

export const KPIS = {
  handledCalls: { metrics: ['tHandle'], higherIsBetter: true, description: 'Conversations handled (tHandle count)', value: (t) => count(t, 'tHandle') },
  avgSpeedOfAnswer: { metrics: ['tAnswered'], higherIsBetter: false, description: 'Average speed of answer in ms (tAnswered sum ÷ count)', value: (t) => ratio(t.tAnswered?.sum ?? 0, count(t, 'tAnswered')) },
  abandonedCalls: { metrics: ['tAbandon'], higherIsBetter: false, description: 'Conversations abandoned (tAbandon count)', value: (t) => count(t, 'tAbandon') },
  offeredCalls: { metrics: ['nOffered'], higherIsBetter: true, description: 'Conversations offered (nOffered count)', value: (t) => count(t, 'nOffered') },
  answeredCalls: { metrics: ['tAnswered'], higherIsBetter: true, description: 'Conversations answered (tAnswered count)', value: (t) => count(t, 'tAnswered') },
  avgHandleTime: { metrics: ['tHandle'], higherIsBetter: false, description: 'Average handle time in ms (tHandle sum ÷ count)', value: (t) => ratio(t.tHandle?.sum ?? 0, count(t, 'tHandle')) },
  transferRate: { metrics: ['nTransferred', 'tHandle'], higherIsBetter: false, description: 'Transfers per handled conversation (nTransferred ÷ tHandle count)', value: (t) => ratio(count(t, 'nTransferred'), count(t, 'tHandle')) },
  abandonRate: { metrics: ['tAbandon', 'nOffered'], higherIsBetter: false, description: 'Abandoned per offered conversation (tAbandon ÷ nOffered count)', value: (t) => ratio(count(t, 'tAbandon'), count(t, 'nOffered')) }
} satisfies Record<string, Kpi>

export type KpiName = keyof typeof KPIS
export const KPI_NAMES = Object.keys(KPIS) as KpiName[]
export const DEFAULT_KPIS: KpiName[] = ['handledCalls', 'avgSpeedOfAnswer', 'abandonedCalls']
export const DEFAULT_WEIGHTS: Partial<Record<KpiName, number>> = { handledCalls: 0.3, avgSpeedOfAnswer: 0.4, abandonedCalls: 0.3 }

/** Adds one result group's stats (over every sub-interval) to a queue's totals. */
export function addStats (totals: MetricTotals, metric: string, stats: AggregateStats): void {
  const entry = totals[metric] ?? { count: 0, sum: 0 }
  entry.count += stats.count ?? 0
  entry.sum += stats.sum ?? 0
  totals[metric] = entry
}
