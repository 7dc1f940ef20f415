import type { FastifyInstance, FastifyReply } from 'fastify'
import type { AnalyticsAdvance } from './analytics.ts'
import type { FlowAdvance } from './flows.ts'
import type { EvaluationAdvance } from './llm-evaluations.ts'
import type { Faults, Progress, RateLimit, WebhookSettings } from './options.ts'
import type { PlannedFault } from './faults.ts'
import type { SandboxStats } from './stats.ts'

/** What tests and operators can change on a running sandbox; the same calls back the JS API. */
export interface SandboxControls {
  stats (): SandboxStats
  resetStats (): void
  setFaults (faults: Partial<Faults>): Faults
  /** Replaces the planned faults (see faults.ts PlannedFault); answers what is planned. */
  planFaults (plan: PlannedFault[]): PlannedFault[]
  /** The planned faults still to strike. */
  plannedFaults (): PlannedFault[]
  setRateLimit (limit: RateLimit): RateLimit
  revokeTokens (): number
  setWebhooks (webhooks: WebhookSettings | undefined): void
  seedRunningEvaluations (count: number): void
  /** Changes how many polls the states answer (options.ts Progress); answers the whole setting. */
  setProgress (progress: Partial<Progress>): Progress
  /**
   * Moves an aggregates job one state on (QUEUED → PENDING → its outcome), or to its outcome with
   * `'end'`; without an id, every job not finished. Answers where each job is now.
   */
  advanceAnalyticsJob (jobId?: string, to?: 'next' | 'end'): AnalyticsAdvance[]
  /**
   * Moves a flow execution `nodes` nodes on (default 1), or to its end with `'end'`, posting the
   * node events on the way; without an id, every execution under way.
   */
  advanceFlowExecution (executionId?: string, nodes?: number | 'end'): FlowAdvance[]
  /** Moves an evaluation one state on (QUEUED → RUNNING → its end), or to its end; the completion webhook goes then. */
  advanceEvaluation (evaluationId?: string, to?: 'next' | 'end'): EvaluationAdvance[]
  /**
   * Holds the next executions of a data action in their handler until `inFlight` of them are
   * there, then lets them all go on: a test makes executions overlap by count, not by timing.
   */
  holdExecutions (actionId: string, inFlight: number): void
  /** Every route the request log can name (`POST /oauth/token` and the `/api/v2` routes), sorted. */
  routes (): string[]
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const bad = (reply: FastifyReply, message: string) => reply.code(400).send({ error: 'bad_request', message })

/** Out-of-band routes: no auth, no rate limit, no faults, and not counted in the stats. */
export function adminRoutes (controls: SandboxControls) {
  return async function (app: FastifyInstance): Promise<void> {
    app.get('/__sandbox/stats', async () => controls.stats())

    app.post('/__sandbox/reset', async (_request, reply) => {
      controls.resetStats()
      return await reply.code(204).send()
    })

    app.put('/__sandbox/faults', async (request, reply) => {
      if (!isObject(request.body)) return await bad(reply, 'body must be an object of fault settings')
      try {
        return controls.setFaults(request.body as Partial<Faults>)
      } catch (error) {
        return await bad(reply, (error as Error).message)
      }
    })

    app.put('/__sandbox/faults/plan', async (request, reply) => {
      try {
        return controls.planFaults(request.body as PlannedFault[])
      } catch (error) {
        return await bad(reply, (error as Error).message)
      }
    })

    app.get('/__sandbox/faults/plan', async () => controls.plannedFaults())

    app.put('/__sandbox/limits', async (request, reply) => {
      if (!isObject(request.body)) return await bad(reply, 'body must be { limit, windowMs }')
      try {
        return controls.setRateLimit(request.body as unknown as RateLimit)
      } catch (error) {
        return await bad(reply, (error as Error).message)
      }
    })

    app.post('/__sandbox/tokens/revoke', async () => ({ revoked: controls.revokeTokens() }))

    app.put('/__sandbox/webhooks', async (request, reply) => {
      const body = request.body
      const fields = ['flowEventsUrl', 'flowEventsSecret', 'signingSecret']
      if (!isObject(body) || Object.entries(body).some(([k, v]) => !fields.includes(k) || typeof v !== 'string')) {
        return await bad(reply, `body must be an object whose only fields are the strings ${fields.join(', ')}`)
      }
      controls.setWebhooks(body as WebhookSettings)
      return await reply.code(204).send()
    })

    app.get('/__sandbox/routes', async () => controls.routes())

    app.put('/__sandbox/progress', async (request, reply) => {
      if (!isObject(request.body)) return await bad(reply, 'body must be an object of progress settings (polls per state, or null)')
      try {
        return controls.setProgress(request.body as Partial<Progress>)
      } catch (error) {
        return await bad(reply, (error as Error).message)
      }
    })

    /** `{ <idField>?: string, <stepField>?: ... }`: the same rules as the JS controls, refusals in words. */
    const advanceRoute = <T>(path: string, idField: string, run: (id: string | undefined, body: Record<string, unknown>) => T) => {
      app.post(path, async (request, reply) => {
        const body = request.body ?? {}
        if (!isObject(body)) return await bad(reply, `body must be an object: { ${idField}?, ... }`)
        const id = body[idField]
        if (id !== undefined && typeof id !== 'string') return await bad(reply, `${idField} must be a string`)
        try {
          return { advanced: run(id, body) }
        } catch (error) {
          return await bad(reply, (error as Error).message)
        }
      })
    }
    const toOf = (body: Record<string, unknown>): 'next' | 'end' => {
      if (body.to !== undefined && body.to !== 'next' && body.to !== 'end') throw new RangeError('to must be next or end')
      return (body.to ?? 'next') as 'next' | 'end'
    }
    advanceRoute('/__sandbox/analytics/jobs/advance', 'jobId', (id, body) => controls.advanceAnalyticsJob(id, toOf(body)))
    advanceRoute('/__sandbox/flows/executions/advance', 'executionId', (id, body) => controls.advanceFlowExecution(id, body.nodes === undefined ? 1 : body.nodes as number | 'end'))
    advanceRoute('/__sandbox/evaluations/advance', 'evaluationId', (id, body) => controls.advanceEvaluation(id, toOf(body)))

    app.put('/__sandbox/executions/hold', async (request, reply) => {
      const body = request.body
      if (!isObject(body) || typeof body.actionId !== 'string' || typeof body.inFlight !== 'number') return await bad(reply, 'body must be { actionId, inFlight }')
      try {
        controls.holdExecutions(body.actionId, body.inFlight)
      } catch (error) {
        return await bad(reply, (error as Error).message)
      }
      return await reply.code(204).send()
    })

    app.post('/__sandbox/evaluations/running', async (request, reply) => {
      const count = isObject(request.body) ? request.body.count : undefined
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > 1000) return await bad(reply, 'body must be { count } with an integer count from 0 to 1000')
      controls.seedRunningEvaluations(count)
      return { running: count }
    })
  }
}
