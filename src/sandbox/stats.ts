export interface LogEntry {
  /** Arrival time, epoch ms. */
  at: number
  /** First 8 characters of the bearer token ('' when none was sent). */
  token: string
  route: string
  /** 0 when the sandbox reset the connection instead of answering. */
  status: number
  /** The pause a 429 asked for (its Retry-After, in ms). */
  retryAfterMs?: number
  /** Which of its token's rate-limit windows the request fell in (1, 2, …); absent when it was not counted (no valid token). */
  rateWindow?: number
}

export interface WebhookDelivery {
  kind: 'flow-event' | 'evaluation'
  url: string
  attempt: number
  /** HTTP status, or 0 when the request itself failed. */
  status: number
  error?: string
  at: number
}

export interface SandboxStats {
  requests: Record<string, Record<string, number>>
  tokenRequests: number
  tokensIssued: number
  actionExecutions: Record<string, number>
  actionBodies: Record<string, unknown[]>
  maxConcurrentExecutions: Record<string, number>
  flowLaunches: Array<{ executionId: string, body: unknown, at: number }>
  evaluationsCreated: number
  evaluationKeys: Record<string, number>
  aggregationTriggers: Array<{ id: string, mode: string, priority: string }>
  /** Bodies of `POST /api/v2/analytics/conversations/aggregates/jobs` as received (refused ones too), oldest first. */
  analyticsQueries: unknown[]
  rateLimited: number
  /** Injected faults by kind: '429', '500', …, 'reset', 'slow' (slowMs added), 'latency' (latencyMs applied); planned ones as 'before:503', 'after:reset', …. */
  faults: Record<string, number>
  /** Newest 10 000 delivery attempts. */
  webhookDeliveries: WebhookDelivery[]
  webhooksDropped: number
  log: LogEntry[]
}

export const LOG_CAP = 200_000
export const BODIES_CAP = 10_000
export const DELIVERIES_CAP = 10_000
/** Trimming in batches keeps appends O(1) amortised at the cap. */
const LOG_SLACK = 5_000

export interface StatsStore {
  readonly data: SandboxStats
  recordRequest (route: string, status: number, entry: LogEntry): void
  recordDelivery (delivery: WebhookDelivery): void
  recordExecutionStart (actionId: string, body: unknown): void
  recordExecutionEnd (actionId: string): void
  recordAnalyticsQuery (body: unknown): void
  count (counter: 'faults' | 'evaluationKeys', key: string): void
  snapshot (): SandboxStats
  reset (): void
}

function empty (): SandboxStats {
  return {
    requests: {},
    tokenRequests: 0,
    tokensIssued: 0,
    actionExecutions: {},
    actionBodies: {},
    maxConcurrentExecutions: {},
    flowLaunches: [],
    evaluationsCreated: 0,
    evaluationKeys: {},
    aggregationTriggers: [],
    analyticsQueries: [],
    rateLimited: 0,
    faults: {},
    webhookDeliveries: [],
    webhooksDropped: 0,
    log: []
  }
}

export function createStats (): StatsStore {
  let data = empty()
  // In-flight executions are live state, not a counter: a reset mid-execution must not drive them negative.
  const inFlight = new Map<string, number>()
  return {
    get data () { return data },
    recordRequest (route, status, entry) {
      const byStatus = data.requests[route] ??= {}
      byStatus[status] = (byStatus[status] ?? 0) + 1
      data.log.push(entry)
      if (data.log.length > LOG_CAP + LOG_SLACK) data.log.splice(0, data.log.length - LOG_CAP)
    },
    recordDelivery (delivery) {
      data.webhookDeliveries.push(delivery)
      if (data.webhookDeliveries.length > DELIVERIES_CAP) data.webhookDeliveries.splice(0, data.webhookDeliveries.length - DELIVERIES_CAP)
    },
    recordExecutionStart (actionId, body) {
      data.actionExecutions[actionId] = (data.actionExecutions[actionId] ?? 0) + 1
      const bodies = data.actionBodies[actionId] ??= []
      if (bodies.length < BODIES_CAP) bodies.push(body)
      const now = (inFlight.get(actionId) ?? 0) + 1
      inFlight.set(actionId, now)
      data.maxConcurrentExecutions[actionId] = Math.max(data.maxConcurrentExecutions[actionId] ?? 0, now)
    },
    recordExecutionEnd (actionId) {
      inFlight.set(actionId, Math.max(0, (inFlight.get(actionId) ?? 1) - 1))
    },
    recordAnalyticsQuery (body) {
      if (data.analyticsQueries.length < BODIES_CAP) data.analyticsQueries.push(body)
    },
    count (counter, key) {
      data[counter][key] = (data[counter][key] ?? 0) + 1
    },
    snapshot () {
      // The log is append-only and its entries never change, so a shallow slice is a safe copy.
      return { ...structuredClone({ ...data, log: [] }), log: data.log.slice(-LOG_CAP) }
    },
    reset () {
      data = empty()
    }
  }
}
