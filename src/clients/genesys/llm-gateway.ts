import type { GenesysRequester } from './client.ts'
import { GenesysError } from './errors.ts'

export interface EvaluationSummary {
  id: string
  status: 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | string
  startTime?: string
  completionTime?: string
  metrics?: Record<string, unknown>
  privacyMaskingApplied?: boolean
}

export interface EvaluationListing {
  entities?: EvaluationSummary[]
  pageSize?: number
  pageNumber?: number
  total?: number
  pageCount?: number
}

const base = '/api/v2/ai/llm/evaluations'
export const EVALUATION_API_VERSION = '2.1'

/**
 * The "LLM Gateway evaluations" API as design document 000 describes it. It is not in the public
 * Platform API; it is kept for orgs that have it.
 */
export function llmGatewayApi (client: GenesysRequester) {
  return {
    /** Counts RUNNING evaluations across every page, not just the first. */
    async countRunning (opts: { pageSize?: number, signal?: AbortSignal } = {}): Promise<{ running: number, pages: number }> {
      const pageSize = opts.pageSize ?? 100
      let running = 0
      let pages = 0
      for (let pageNumber = 1; ; pageNumber++) {
        const page = (await client.request<EvaluationListing>({
          name: 'llm.listEvaluations',
          method: 'GET',
          repeat: 'safe',
          path: base,
          searchParams: { status: 'RUNNING', pageSize, pageNumber },
          signal: opts.signal
        })).body
        pages += 1
        const entities = page.entities ?? []
        running += entities.filter((e) => e.status === 'RUNNING').length
        const pageCount = page.pageCount ?? (page.total === undefined ? pageNumber : Math.ceil(page.total / pageSize))
        if (entities.length === 0 || pageNumber >= pageCount) return { running, pages }
      }
    },

    /**
     * Creates the evaluation under a key that is the same on every try, so a retry after a crash or
     * a lost answer finds the one already created (409) instead of starting a second.
     */
    async create (body: Record<string, unknown>, idempotencyKey: string, signal?: AbortSignal): Promise<{ id: string, status?: string, created: boolean }> {
      try {
        const res = await client.request<EvaluationSummary>({
          name: 'llm.createEvaluation',
          method: 'POST',
          path: base,
          json: body,
          headers: { 'Idempotency-Key': idempotencyKey, 'X-Genesys-Evaluation-Version': EVALUATION_API_VERSION },
          repeat: 'safe',
          signal
        })
        return { id: res.body.id, status: res.body.status, created: true }
      } catch (err) {
        const existing = err instanceof GenesysError && err.status === 409 ? (err.body as { id?: unknown } | undefined)?.id : undefined
        if (typeof existing === 'string') return { id: existing, created: false }
        throw err
      }
    },

    async get (id: string, signal?: AbortSignal): Promise<EvaluationSummary> {
      return (await client.request<EvaluationSummary>({ name: 'llm.getEvaluation', method: 'GET', repeat: 'safe', path: `${base}/${encodeURIComponent(id)}`, signal })).body
    },

    async validateMetrics (id: string, datasetSampleSize: number, signal?: AbortSignal): Promise<{ compatible: boolean, warnings: string[] }> {
      const res = await client.request<{ compatible?: boolean, warnings?: string[] }>({
        name: 'llm.validateMetrics', method: 'POST', path: `${base}/${encodeURIComponent(id)}/validate-metrics`, json: { datasetSampleSize }, repeat: 'safe', signal
      })
      return { compatible: res.body.compatible === true, warnings: res.body.warnings ?? [] }
    },

    async triggerAggregation (id: string, signal?: AbortSignal): Promise<void> {
      await client.request({
        name: 'llm.triggerAggregation', method: 'POST', path: `${base}/${encodeURIComponent(id)}/trigger-aggregation`, json: { mode: 'async', priority: 'high' }, repeat: 'safe', signal
      })
    }
  }
}
