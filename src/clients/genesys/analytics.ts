import type { GenesysRequester } from './client.ts'

/** The values of the conversation `mediaType` dimension. */
export const MEDIA_TYPES = ['voice', 'chat', 'email', 'callback', 'message', 'cobrowse', 'video', 'screenshare', 'unknown'] as const
export type MediaType = typeof MEDIA_TYPES[number]

/** `ConversationAggregateQueryPredicate`: (dimension) (operator) (value). */
export interface AggregatePredicate {
  type: 'dimension' | 'property' | 'metric'
  dimension: string
  operator: 'matches' | 'exists' | 'notExists'
  value?: string
}

/** `ConversationAggregateQueryClause`: one level below the filter, predicates only. */
export interface AggregateClause { type: 'and' | 'or', predicates: AggregatePredicate[] }

export interface AggregateFilter { type: 'and' | 'or', predicates?: AggregatePredicate[], clauses?: AggregateClause[] }

export interface AggregationQuery {
  interval: string
  granularity?: string
  timeZone?: string
  groupBy?: string[]
  filter?: AggregateFilter
  metrics: string[]
  pageSize?: number
}

export const matches = (dimension: string, value: string): AggregatePredicate => ({ type: 'dimension', dimension, operator: 'matches', value })

export const ASYNC_QUERY_STATES = ['QUEUED', 'PENDING', 'FAILED', 'CANCELLED', 'FULFILLED', 'EXPIRED'] as const

export interface AsyncQueryStatus {
  state: typeof ASYNC_QUERY_STATES[number]
  errorMessage?: string
  expirationDate?: string
  submissionDate?: string
  completionDate?: string
}

export interface AggregateStats { count?: number, sum?: number, min?: number, max?: number, [key: string]: number | undefined }

export interface AggregateResultGroup {
  group: Record<string, string>
  data?: Array<{ interval: string, metrics: Array<{ metric: string, qualifier?: string | null, stats: AggregateStats }> }>
}

export interface AggregateResultsPage {
  results?: AggregateResultGroup[]
  cursor?: string
}

const base = '/api/v2/analytics/conversations/aggregates/jobs'

/** Asynchronous conversation aggregates (`analytics:conversationAggregate:view`). */
export function analyticsApi (client: GenesysRequester) {
  return {
    /** Submitting twice only creates a second job to read: harmless, so it may be retried. */
    async submitAggregatesJob (query: AggregationQuery, signal?: AbortSignal): Promise<{ jobId: string }> {
      return (await client.request<{ jobId: string }>({ name: 'analytics.submitAggregatesJob', method: 'POST', path: base, json: query, repeat: 'safe', signal })).body
    },

    async getAggregatesJob (jobId: string, signal?: AbortSignal): Promise<AsyncQueryStatus> {
      return (await client.request<AsyncQueryStatus>({ name: 'analytics.getAggregatesJob', method: 'GET', repeat: 'safe', path: `${base}/${encodeURIComponent(jobId)}`, signal })).body
    },

    async getAggregatesResults (jobId: string, cursor?: string, signal?: AbortSignal): Promise<AggregateResultsPage> {
      return (await client.request<AggregateResultsPage>({
        name: 'analytics.getAggregatesResults',
        method: 'GET',
        repeat: 'safe',
        path: `${base}/${encodeURIComponent(jobId)}/results`,
        searchParams: cursor === undefined ? undefined : { cursor },
        signal
      })).body
    }
  }
}
