import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { SandboxContext } from './context.ts'
import { platformError } from './errors.ts'
import { validate, type JsonSchema } from './json-schema.ts'
import { entityListing } from './listing.ts'
import { isToxic, normalise, reverseWords } from './llm-model.ts'
import { createStepper, type Stepper } from './stepper.ts'
import { deliver, signStandardWebhook } from './webhooks.ts'

/**
 * "LLM Gateway evaluations" as design doc 000 describes them. Not a real Genesys API (see the
 * reference, §2); kept for orgs that have it. Where the doc is silent the sandbox follows the
 * platform's conventions (ErrorBody, paged listings).
 */
const BASE = '/api/v2/ai/llm/evaluations'
export const MAX_RUNNING_EVALUATIONS = 10
const MAX_SAMPLE_SIZE = 50
const KNOWN_DIRECTIVES = ['accuracy', 'latency', 'hallucination_rate', 'toxicity_score']
const DEFAULT_DIRECTIVES: Record<string, boolean> = { accuracy: true, latency: true, hallucination_rate: false, toxicity_score: false }
const API_VERSION = '2.1'

export type EvaluationStatus = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'FAILED'
interface Row { prompt: string, expectedOutput: string }

/** Stepper states: 0 QUEUED, 1 RUNNING, 2 COMPLETED or FAILED. */
const DONE = 2

interface Evaluation {
  id: string
  createdAt: number
  rows: Row[]
  directives: Record<string, boolean>
  privacyMaskingApplied: boolean
  webhookUrl?: string
  /** Seeded evaluations stay RUNNING until `seedRunning` is called again; they have no stepper. */
  steps?: Stepper
  startedAt?: number
  completedAt?: number
  fails: boolean
}

/** One evaluation moved on by an advance: where it is now. */
export interface EvaluationAdvance { evaluationId: string, status: EvaluationStatus }

const CREATE_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['datasetMatrix'],
  properties: {
    evaluationId: { type: 'string', format: 'uuid' },
    datasetMatrix: {
      type: 'array',
      minItems: 1,
      maxItems: 5000,
      items: {
        type: 'object',
        required: ['prompt', 'expectedOutput'],
        properties: { prompt: { type: 'string', minLength: 1 }, expectedOutput: { type: 'string', minLength: 1 }, metadata: { type: 'object' } }
      }
    },
    // Unknown directives are accepted here so that validate-metrics can report them, as the doc's flow expects.
    metricCalculationDirectives: { type: 'object', additionalProperties: { type: 'boolean' } },
    privacyMasking: {
      type: 'object',
      required: ['enabled', 'patterns'],
      properties: { enabled: { type: 'boolean' }, patterns: { type: 'array', items: { type: 'string', enum: ['PII', 'PHI', 'CCN', 'EMAIL', 'PHONE'] } } }
    },
    webhookUrl: { type: 'string', format: 'uri' }
  }
}

const VALIDATE_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['datasetSampleSize'],
  properties: { datasetSampleSize: { type: 'integer', minimum: 1 }, directives: { type: 'object', additionalProperties: { type: 'boolean' } } }
}

const TRIGGER_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['mode', 'priority'],
  properties: { mode: { type: 'string', enum: ['async', 'sync'] }, priority: { type: 'string', enum: ['low', 'normal', 'high'] } }
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]
}

const round4 = (n: number) => Math.round(n * 10_000) / 10_000

/**
 * The "gateway's" scores, computed as if it ran the sandbox's reverse-words model over the
 * dataset: a row is accurate when the reversed prompt equals the expected output (normalised),
 * and takes 40 ms + 3 ms per prompt character.
 */
export function evaluationMetrics (rows: Row[], directives: Record<string, boolean>): Record<string, number> {
  const outputs = rows.map((r) => reverseWords(r.prompt))
  const accuracy = round4(rows.filter((r, i) => normalise(outputs[i]) === normalise(r.expectedOutput)).length / rows.length)
  const latencies = rows.map((r) => 40 + 3 * r.prompt.length).sort((a, b) => a - b)
  return {
    ...(directives.accuracy ? { accuracy } : {}),
    ...(directives.latency
      ? {
          latencyMs: Math.round(latencies.reduce((a, b) => a + b, 0) / latencies.length),
          latency_p50_ms: percentile(latencies, 0.5),
          latency_p95_ms: percentile(latencies, 0.95),
          latency_max_ms: latencies[latencies.length - 1]
        }
      : {}),
    ...(directives.hallucination_rate ? { hallucination_rate: round4(1 - accuracy) } : {}),
    ...(directives.toxicity_score ? { toxicity_score: round4(outputs.filter(isToxic).length / rows.length) } : {})
  }
}

function positiveInt (raw: string | undefined, fallback: number, max: number): number | undefined {
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw)) return undefined
  const n = Number(raw)
  return n >= 1 && n <= max ? n : undefined
}

export function createEvaluations (ctx: SandboxContext) {
  const evaluations = new Map<string, Evaluation>()
  const byKey = new Map<string, string>()

  function statusOf (e: Evaluation): EvaluationStatus {
    const state = e.steps?.state ?? (e.completedAt === undefined ? 1 : DONE)
    return state === 0 ? 'QUEUED' : state === 1 ? 'RUNNING' : e.fails ? 'FAILED' : 'COMPLETED'
  }

  function view (e: Evaluation) {
    const status = statusOf(e)
    const { startedAt, completedAt } = e
    return {
      id: e.id,
      evaluationId: e.id,
      status,
      ...(startedAt === undefined ? {} : { startTime: new Date(startedAt).toISOString() }),
      ...(completedAt === undefined ? {} : { completionTime: new Date(completedAt).toISOString() }),
      ...(status === 'COMPLETED' ? { metrics: evaluationMetrics(e.rows, e.directives) } : {}),
      ...(status === 'FAILED' ? { metrics: {}, errorMessage: 'The evaluation engine rejected a dataset row (FAIL_EVALUATION)' } : {}),
      privacyMaskingApplied: e.privacyMaskingApplied,
      metricsUrl: `${BASE}/${e.id}/metrics`,
      auditLogUrl: `${BASE}/${e.id}/audit`,
      selfUri: `${BASE}/${e.id}`
    }
  }

  function runningCount (): number {
    let n = 0
    for (const e of evaluations.values()) if (statusOf(e) === 'RUNNING') n++
    return n
  }

  /** Sent as the evaluation finishes, so a receiver that reads it on this webhook sees it finished. */
  function sendCompletion (e: Evaluation): void {
    if (e.webhookUrl === undefined) return
    const v = view(e)
    const body = { evaluationId: e.id, status: v.status, startTime: v.startTime, completionTime: v.completionTime, metrics: v.metrics ?? {}, privacyMaskingApplied: e.privacyMaskingApplied }
    const id = `msg_${crypto.randomUUID()}`
    const timestamp = Math.floor(ctx.now() / 1000)
    const secret = ctx.webhooks.signingSecret
    void deliver(ctx, 'evaluation', e.webhookUrl, body, {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      ...(secret === undefined ? {} : { 'webhook-signature': signStandardWebhook(secret, id, timestamp, JSON.stringify(body)) })
    })
  }

  /**
   * The create answer is the evaluation's QUEUED answer (design doc 000 shows it so), so unlike
   * the other resources an evaluation leaves QUEUED at its first poll at the earliest.
   */
  function stepperFor (e: Evaluation): Stepper {
    return createStepper(DONE, (state) => (state === 0 ? ctx.progress.evaluationQueuedPolls : ctx.progress.evaluationRunningPolls), (state) => {
      if (state === 1) e.startedAt = ctx.now()
      if (state === DONE) {
        e.completedAt = ctx.now()
        sendCompletion(e)
      }
    })
  }

  /** Moves one evaluation (or, without an id, every unfinished one but the seeded) a state on, or to its end. */
  function advance (evaluationId?: string, to: 'next' | 'end' = 'next'): EvaluationAdvance[] {
    const named = evaluationId === undefined ? undefined : evaluations.get(evaluationId)
    if (evaluationId !== undefined && named === undefined) throw new RangeError(`no evaluation ${evaluationId}`)
    if (named !== undefined && named.steps === undefined) throw new RangeError(`evaluation ${evaluationId} was seeded RUNNING: seedRunningEvaluations ends it`)
    const chosen = named !== undefined ? [named] : [...evaluations.values()].filter((e) => e.steps !== undefined && e.completedAt === undefined)
    return chosen.map((e) => {
      e.steps!.advance(to)
      return { evaluationId: e.id, status: statusOf(e) }
    })
  }

  /** Releases every seeded evaluation (they complete now) and seeds `count` new ones that stay RUNNING. */
  function seedRunning (count: number): void {
    const now = ctx.now()
    for (const e of evaluations.values()) if (e.steps === undefined && e.completedAt === undefined) e.completedAt = now
    for (let i = 0; i < count; i++) {
      const id = ctx.ids.uuid()
      evaluations.set(id, {
        id,
        createdAt: now,
        rows: [{ prompt: 'seeded evaluation', expectedOutput: 'evaluation seeded' }],
        directives: DEFAULT_DIRECTIVES,
        privacyMaskingApplied: false,
        startedAt: now,
        fails: false
      })
    }
  }

  const find = (reply: FastifyReply, id: string): Evaluation | undefined => {
    const e = evaluations.get(id)
    if (e === undefined) void platformError(reply, 404, 'not.found', `Evaluation ${id} not found`, { entityId: id })
    return e
  }

  const idempotencyKeyOf = (request: FastifyRequest): string | undefined => {
    const raw = request.headers['idempotency-key']
    return typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : undefined
  }

  async function routes (app: FastifyInstance): Promise<void> {
    app.get<{ Querystring: { status?: string, pageSize?: string, pageNumber?: string } }>(BASE, async (request, reply) => {
      const { status } = request.query
      if (status !== undefined && !['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED'].includes(status)) {
        return await platformError(reply, 400, 'bad.request', 'status must be one of QUEUED, RUNNING, COMPLETED, FAILED', { details: [{ fieldName: 'status' }] })
      }
      const pageSize = positiveInt(request.query.pageSize, 25, 100)
      const pageNumber = positiveInt(request.query.pageNumber, 1, Number.MAX_SAFE_INTEGER)
      if (pageSize === undefined || pageNumber === undefined) {
        return await platformError(reply, 400, 'bad.request', 'pageSize must be an integer from 1 to 100 and pageNumber an integer ≥ 1', { details: [{ fieldName: pageSize === undefined ? 'pageSize' : 'pageNumber' }] })
      }
      const matching = [...evaluations.values()].map(view).filter((v) => status === undefined || v.status === status)
      const uri = (n: number) => `${BASE}?${new URLSearchParams({ ...(status === undefined ? {} : { status }), pageSize: String(pageSize), pageNumber: String(n) })}`
      return entityListing(matching, pageNumber, pageSize, uri)
    })

    app.post(BASE, {
      // Counted before faults are drawn, so a retried create shows up once per attempt.
      onRequest: async (request) => {
        const key = idempotencyKeyOf(request)
        if (key !== undefined) ctx.stats.count('evaluationKeys', key)
      }
    }, async (request, reply) => {
      const key = idempotencyKeyOf(request)
      if (key === undefined) return await platformError(reply, 400, 'bad.request', 'The Idempotency-Key header is required', { details: [{ fieldName: 'Idempotency-Key' }] })
      if (request.headers['x-genesys-evaluation-version'] !== API_VERSION) {
        return await platformError(reply, 400, 'bad.request', `The X-Genesys-Evaluation-Version header must be ${API_VERSION}`, { details: [{ fieldName: 'X-Genesys-Evaluation-Version' }] })
      }
      const existing = byKey.get(key)
      if (existing !== undefined) {
        return await platformError(reply, 409, 'general.conflict', 'An evaluation was already created with this Idempotency-Key', { id: existing, entityId: existing })
      }
      const errors = validate(CREATE_SCHEMA, request.body)
      if (errors.length > 0) return await platformError(reply, 400, 'bad.request', errors[0].message, { details: errors.map((e) => ({ fieldName: e.path })) })
      const body = request.body as { evaluationId?: string, datasetMatrix: Row[], metricCalculationDirectives?: Record<string, boolean>, privacyMasking?: { enabled: boolean, patterns: string[] }, webhookUrl?: string }
      if (body.evaluationId !== undefined && evaluations.has(body.evaluationId)) {
        return await platformError(reply, 409, 'general.conflict', `Duplicate evaluation ID ${body.evaluationId}`, { id: body.evaluationId, entityId: body.evaluationId })
      }
      const running = runningCount()
      if (running >= MAX_RUNNING_EVALUATIONS) {
        // Design doc 000 lists "concurrent evaluation limit exceeded" under 409; unlike the
        // idempotency conflict this body carries no `id`, only the limit that was hit.
        return await platformError(reply, 409, 'general.conflict', `Concurrent evaluation limit exceeded. Active runs: ${running}. Limit: ${MAX_RUNNING_EVALUATIONS}.`, {
          limit: { key: 'llm.evaluations.running.max', namespace: 'ai', value: MAX_RUNNING_EVALUATIONS }
        })
      }
      const evaluation: Evaluation = {
        id: body.evaluationId ?? ctx.ids.uuid(),
        createdAt: ctx.now(),
        rows: body.datasetMatrix.map((r) => ({ prompt: r.prompt, expectedOutput: r.expectedOutput })),
        directives: { ...DEFAULT_DIRECTIVES, ...body.metricCalculationDirectives },
        privacyMaskingApplied: body.privacyMasking?.enabled === true && body.privacyMasking.patterns.length > 0,
        webhookUrl: body.webhookUrl,
        fails: body.datasetMatrix.some((r) => r.prompt.includes('FAIL_EVALUATION'))
      }
      evaluation.steps = stepperFor(evaluation)
      evaluations.set(evaluation.id, evaluation)
      byKey.set(key, evaluation.id)
      ctx.stats.data.evaluationsCreated++
      return await reply.code(201).header('location', `${BASE}/${evaluation.id}`).send(view(evaluation))
    })

    app.get<{ Params: { id: string } }>(`${BASE}/:id`, async (request, reply) => {
      const e = find(reply, request.params.id)
      if (e === undefined) return reply
      e.steps?.poll()
      return view(e)
    })

    app.post<{ Params: { id: string } }>(`${BASE}/:id/validate-metrics`, async (request, reply) => {
      const e = find(reply, request.params.id)
      if (e === undefined) return reply
      const errors = validate(VALIDATE_SCHEMA, request.body)
      if (errors.length > 0) return await platformError(reply, 400, 'bad.request', errors[0].message, { details: errors.map((x) => ({ fieldName: x.path })) })
      const { datasetSampleSize, directives = {} } = request.body as { datasetSampleSize: number, directives?: Record<string, boolean> }
      const requested = new Set(Object.entries({ ...e.directives, ...directives }).filter(([, on]) => on).map(([name]) => name))
      const warnings: string[] = []
      for (const name of requested) if (!KNOWN_DIRECTIVES.includes(name)) warnings.push(`Unknown metric directive '${name}'`)
      if (datasetSampleSize > MAX_SAMPLE_SIZE) warnings.push(`datasetSampleSize ${datasetSampleSize} exceeds the maximum sample of ${MAX_SAMPLE_SIZE}`)
      const compatible = warnings.length === 0
      if (datasetSampleSize > e.rows.length) warnings.push(`datasetSampleSize ${datasetSampleSize} is larger than the dataset (${e.rows.length} rows); all rows are sampled`)
      return { compatible, warnings }
    })

    app.post<{ Params: { id: string } }>(`${BASE}/:id/trigger-aggregation`, async (request, reply) => {
      const e = find(reply, request.params.id)
      if (e === undefined) return reply
      const errors = validate(TRIGGER_SCHEMA, request.body)
      if (errors.length > 0) return await platformError(reply, 400, 'bad.request', errors[0].message, { details: errors.map((x) => ({ fieldName: x.path })) })
      const { mode, priority } = request.body as { mode: string, priority: string }
      ctx.stats.data.aggregationTriggers.push({ id: e.id, mode, priority })
      return await reply.code(202).send({ id: e.id, mode, priority, status: 'ACCEPTED' })
    })
  }

  return { routes, seedRunning, advance }
}
