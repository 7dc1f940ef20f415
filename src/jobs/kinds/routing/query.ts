import { matches, type AggregationQuery, type MediaType } from '../../../clients/genesys/analytics.ts'
import { KPIS, type KpiName } from './kpis.ts'

/** KPIs named "calls" count voice conversations unless the job asks for other media. */
export const DEFAULT_MEDIA_TYPES: MediaType[] = ['voice']

export interface RoutingQuery {
  queueIds: string[]
  mediaTypes: MediaType[]
  interval: { from: string, to: string }
  granularity?: string
  timeZone?: string
  kpis: KpiName[]
}

/** The metrics the KPIs are computed from, each once. */
export const metricsFor = (kpis: readonly KpiName[]): string[] => [...new Set(kpis.flatMap((k) => KPIS[k].metrics))]

/**
 * The aggregates query: grouped by queue, the queues OR-ed in one clause and the media types in
 * another, the two clauses AND-ed, so only the media asked for are counted.
 */
export function aggregatesQuery (q: RoutingQuery): AggregationQuery {
  return {
    interval: `${q.interval.from}/${q.interval.to}`,
    ...(q.granularity === undefined ? {} : { granularity: q.granularity }),
    ...(q.timeZone === undefined ? {} : { timeZone: q.timeZone }),
    groupBy: ['queueId'],
    filter: {
      type: 'and',
      clauses: [
        { type: 'or', predicates: q.queueIds.map((id) => matches('queueId', id)) },
        { type: 'or', predicates: q.mediaTypes.map((m) => matches('mediaType', m)) }
      ]
    },
    metrics: metricsFor(q.kpis)
  }
}
