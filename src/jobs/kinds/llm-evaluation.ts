import { randomUUID } from 'node:crypto'
import { Type, type Static } from 'typebox'
import { invalid } from '../../errors.ts'
import { GenesysError, type GenesysApis } from '../../clients/genesys/index.ts'
import { FIXTURE_IDS } from '../../fixture-ids.ts'
import { MASK_PATTERNS, maskText, type MaskPattern } from '../../privacy/masking.ts'
import { fail, next, StepError, succeed, waitFor, type JobKind, type KindReceiver, type StepContext, type StepOutcome, type RerunOrigin } from '../kind.ts'
import { outcomeOfGenesysError, type ActionServices } from './action-services.ts'
import { computeMetrics, outcomeOfRow, type RowOutcome } from './llm/metrics.ts'
import { LLM_RESULT_EXAMPLE, LlmEvaluationResult } from './llm/result.ts'
import { llmRows, wantedMetrics } from './llm/rows.ts'
import { genesysOf, type KindDeps } from './deps.ts'
import { atMostOnce, RetryUnknownOutcome } from './side-effects.ts'

export const COMPLIANCE_TAG = 'AI_EVAL_V2'
export const MAX_ROWS = 5000
const KNOWN_DIRECTIVES = ['accuracy', 'latency', 'hallucination_rate', 'toxicity_score'] as const
const JUDGED = ['hallucination_rate', 'toxicity_score'] as const

const DataActionEngine = Type.Object({
  type: Type.Literal('data-action'),
  actionId: Type.String({ minLength: 1, maxLength: 256, description: 'The data action that fronts the model' }),
  inputField: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Input the prompt goes in (default `prompt`)' })),
  outputField: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Output the answer comes from (default `output`)' })),
  concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, 'x-error-code': 'CONCURRENCY_OUT_OF_RANGE', description: 'Rows in flight at once, 1 to 10 (default 5)' })),
  judgeActionId: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'A data action scoring `{prompt, output, expectedOutput}` as `{hallucination, toxicity}`' }))
}, { additionalProperties: false })

const GatewayEngine = Type.Object({
  type: Type.Literal('gateway'),
  runningLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Wait while this many evaluations are RUNNING (default 10)' })),
  pollIntervalMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000, description: 'Fallback poll when no completion webhook comes (default 10 000)' })),
  pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Page size when counting RUNNING evaluations (default 100)' }))
}, { additionalProperties: false })

/** A discriminated union: Ajv then reports errors of the engine the caller meant, not of both. */
const Engine = Type.Unsafe<Static<typeof DataActionEngine> | Static<typeof GatewayEngine>>({
  type: 'object',
  required: ['type'],
  oneOf: [DataActionEngine, GatewayEngine],
  discriminator: { propertyName: 'type' },
  description: '`data-action`: each prompt runs through a data action that fronts the model. `gateway`: the LLM Gateway evaluations API (design document 000), for orgs that have it.'
})

const Body = Type.Object({
  evaluationId: Type.Optional(Type.String({ format: 'uuid', description: 'Generated when absent' })),
  datasetMatrix: Type.Array(Type.Object({
    prompt: Type.String({ minLength: 1, maxLength: 20_000, 'x-error-code': { minLength: 'PROMPT_EMPTY', maxLength: 'PROMPT_TOO_LONG' } }),
    expectedOutput: Type.String({ maxLength: 20_000, 'x-error-code': 'EXPECTED_OUTPUT_TOO_LONG' }),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown()))
  }, { additionalProperties: false }), { minItems: 1, maxItems: MAX_ROWS, 'x-error-code': { minItems: 'DATASET_SIZE_INVALID', maxItems: 'DATASET_SIZE_INVALID' }, description: '1 to 5 000 rows' }),
  metricCalculationDirectives: Type.Object({
    accuracy: Type.Boolean({ default: true }),
    latency: Type.Boolean({ default: true }),
    hallucination_rate: Type.Boolean({ default: false }),
    toxicity_score: Type.Boolean({ default: false })
  }, { additionalProperties: Type.Boolean(), default: {}, description: 'Which metrics to compute; the gateway engine passes other directives on to Genesys' }),
  privacyMasking: Type.Object({
    enabled: Type.Boolean({ default: false }),
    patterns: Type.Array(Type.Enum([...MASK_PATTERNS]), { uniqueItems: true, default: [], description: 'Empty: all of PII, PHI, CCN, EMAIL, PHONE' })
  }, { additionalProperties: false, default: {} }),
  engine: Engine,
  retryUnknownOutcome: RetryUnknownOutcome
})
type BodyInput = Static<typeof Body>
type DataActionSettings = Static<typeof DataActionEngine>
type GatewaySettings = Static<typeof GatewayEngine>

export function checkLlmBody (body: BodyInput): void {
  const d = body.metricCalculationDirectives as Record<string, boolean>
  if (body.engine.type === 'data-action') {
    const unknown = Object.keys(d).filter((k) => !(KNOWN_DIRECTIVES as readonly string[]).includes(k))
    if (unknown.length > 0) throw invalid('METRIC_SCHEMA_MISMATCH', `metric schema mismatch: ${unknown.join(', ')} cannot be computed by the data-action engine (it computes ${KNOWN_DIRECTIVES.join(', ')})`)
    const judged = JUDGED.filter((m) => d[m] === true)
    if (judged.length > 0 && body.engine.judgeActionId === undefined) {
      throw invalid('METRIC_SCHEMA_MISMATCH', `metric schema mismatch: ${judged.join(' and ')} need a judge: set engine.judgeActionId to a data action that scores {prompt, output, expectedOutput}`)
    }
  }
}

const patternsOf = (body: BodyInput): MaskPattern[] => (body.privacyMasking.patterns.length > 0 ? body.privacyMasking.patterns : [...MASK_PATTERNS])
export const maskedPrompt = (body: BodyInput, prompt: string): string => (body.privacyMasking.enabled ? maskText(prompt, patternsOf(body)) : prompt)

interface State {
  evaluationId: string
  startedAt?: number
  remoteId?: string
  capacityChecks: number
  polls: number
}

/** A progress entry goes on the timeline at most every this many rows or this long. */
const ANNOUNCE_ROWS = 25
const ANNOUNCE_MS = 250

const rowError = (err: unknown): { code: string, message: string } => ({
  code: err instanceof StepError ? err.error.code : err instanceof GenesysError ? `GENESYS_${err.status}` : 'ROW_FAILED',
  message: (err as Error).message
})

/** A row that could not run yet and may run at the step's next try (nothing sent, or the job opted in to repeats). */
const worthAnotherTry = (err: unknown): boolean =>
  (err instanceof StepError && err.error.retryable) || (err instanceof GenesysError && err.retryable && err.notRun)

/**
 * Runs every row not yet recorded, `concurrency` at a time, each row's execute at most once
 * (side-effects.ts) and its outcome saved as soon as it is known. Rows that could not run yet are
 * left for the step's next try (the engine's backoff); on the last try they are recorded as errors.
 */
async function runRows (actions: ActionServices, genesys: GenesysApis, ctx: StepContext<BodyInput, State>, now: () => number): Promise<StepOutcome<State>> {
  const body = ctx.job.input
  const engine = body.engine as DataActionSettings
  const rows = body.datasetMatrix
  const d = body.metricCalculationDirectives
  const judge = engine.judgeActionId !== undefined && (d.hallucination_rate || d.toxicity_score)
  const repeatUnknown = body.retryUnknownOutcome
  const done = await ctx.loadItems() as Map<number, RowOutcome>
  const pending = rows.map((_, i) => i).filter((i) => !done.has(i))
  const deferred: unknown[] = []
  let announced = { at: now(), done: done.size }
  const save = async (index: number, outcome: RowOutcome) => {
    done.set(index, outcome)
    const announce = done.size === rows.length || done.size - announced.done >= ANNOUNCE_ROWS || now() - announced.at >= ANNOUNCE_MS
    if (announce) announced = { at: now(), done: done.size }
    await ctx.saveItems([{ index, data: outcome, outcome: outcomeOfRow(outcome) }], { done: done.size, total: rows.length }, { announce })
  }
  const execute = async (index: number, key: string, what: string, actionId: string, inputs: Record<string, unknown>) =>
    await atMostOnce(ctx as StepContext<unknown, unknown>, { key, what, item: index, repeatUnknown },
      async (beforeSend) => await actions.execute(genesys, actionId, inputs, { timeoutMs: 60_000, signal: ctx.signal, beforeSend, now }))

  let cursor = 0
  const workers = Array.from({ length: Math.min(engine.concurrency ?? 5, pending.length) }, async () => {
    while (cursor < pending.length) {
      const index = pending[cursor++]!
      const row = rows[index]!
      const prompt = maskedPrompt(body, row.prompt)
      let outcome: RowOutcome
      try {
        const answer = await execute(index, `row:${index}`, `Row ${index}: executing ${engine.actionId}`, engine.actionId, { [engine.inputField ?? 'prompt']: prompt })
        const raw = (answer.output as Record<string, unknown> | null)?.[engine.outputField ?? 'output']
        const output = typeof raw === 'string' ? raw : JSON.stringify(raw ?? null)
        outcome = { prompt, output, expectedOutput: row.expectedOutput, latencyMs: answer.latencyMs }
      } catch (err) {
        if (ctx.signal.aborted) throw err
        if (worthAnotherTry(err) && ctx.attemptsLeft > 0) {
          deferred.push(err)
          continue
        }
        outcome = { prompt, expectedOutput: row.expectedOutput, error: rowError(err) }
      }
      if (judge && outcome.error === undefined) {
        // The row's answer is known: a judge that fails leaves the row unscored, never re-runs it.
        try {
          const verdict = (await execute(index, `row:${index}:judge`, `Row ${index}: judging with ${engine.judgeActionId!}`, engine.judgeActionId!,
            { prompt, output: outcome.output, expectedOutput: row.expectedOutput })).output as { hallucination?: number, toxicity?: number }
          outcome.hallucination = Number(verdict.hallucination ?? 0)
          outcome.toxicity = Number(verdict.toxicity ?? 0)
        } catch (err) {
          if (ctx.signal.aborted) throw err
          outcome.judgeError = rowError(err)
        }
      }
      await save(index, outcome)
    }
  })
  await Promise.all(workers)
  if (deferred.length > 0) {
    const first = deferred[0] as Error
    throw new StepError({
      code: 'ROWS_NOT_RUN_YET',
      message: `${deferred.length} row(s) could not run on this try and run again at the next (first reason: ${first.message})`,
      retryable: true
    }, deferred.map((e) => (e as { retryAfterMs?: number }).retryAfterMs ?? (e as StepError).retryAfterMs).find((ms) => ms !== undefined))
  }
  const result = dataActionResult(ctx.job.input, ctx.state, done, now(), false, ctx.job.rerun)
  if (result.metrics.failedRows === rows.length) {
    const first = result.failedRowSamples?.[0]
    const rowErrors: Record<string, number> = {}
    for (const outcome of done.values()) if (outcome.error !== undefined) rowErrors[outcome.error.code] = (rowErrors[outcome.error.code] ?? 0) + 1
    return fail('ALL_ROWS_FAILED', `Every one of the ${rows.length} rows failed, so nothing was measured` +
      `${first === undefined ? '' : ` (row ${first.row}: ${first.error.code}: ${first.error.message})`}. ` +
      `Each row and its error: GET /v1/jobs/${ctx.job.id}/items?outcome=error`, { details: { rowErrors } }, ctx.state)
  }
  return succeed(result, ctx.state)
}

/**
 * The data-action engine's result from the rows recorded so far; `partial` when the run ended
 * before every row was (cancelled, failed, timed out).
 */
function dataActionResult (body: BodyInput, state: State, done: ReadonlyMap<number, unknown>, at: number, partial: boolean, rerun: RerunOrigin | null) {
  const recorded = [...done.entries()].sort((a, b) => a[0] - b[0]) as Array<[number, RowOutcome]>
  const metrics = computeMetrics(recorded.map(([, r]) => r), body.datasetMatrix.length, wantedMetrics(body))
  const original = rerun?.rows
  const failures = recorded.filter(([, r]) => r.error !== undefined).slice(0, 20)
    .map(([row, r]) => ({ row, ...(original === undefined ? {} : { originalRow: original.rows[row]! }), error: r.error! }))
  return {
    evaluationId: state.evaluationId,
    engine: 'data-action' as const,
    partial,
    metrics,
    accuracyRate: metrics.accuracy ?? null,
    executionLatencyMs: at - (state.startedAt ?? at),
    privacyMaskingApplied: body.privacyMasking.enabled,
    complianceTag: COMPLIANCE_TAG,
    ...(failures.length > 0 ? { failedRowSamples: failures } : {}),
    // A re-run of some rows: row i of this run is row originalRows[i] of that job.
    ...(original === undefined ? {} : { rerunOf: { jobId: rerun!.jobId, rows: original.which, originalRows: original.rows } })
  }
}

const EvaluationEvent = Type.Object({
  evaluationId: Type.String({ minLength: 1, maxLength: 200 }),
  status: Type.Enum(['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED']),
  startTime: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  completionTime: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  metrics: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
  privacyMaskingApplied: Type.Optional(Type.Boolean())
}, {
  additionalProperties: false,
  description: 'The LLM Gateway completion event (design document 000)',
  examples: [{ evaluationId: '6f1c1f8e-8d8a-4a57-9d0e-2b1c3d4e5f60', status: 'COMPLETED', startTime: '2026-11-23T10:00:00.000Z', completionTime: '2026-11-23T10:04:00.000Z', metrics: { accuracy: 0.92, latencyMs: 840 }, privacyMaskingApplied: true }]
})

/** Where the gateway posts completions: the `webhookUrl` the gateway engine gives it. */
export const evaluationsReceiver: KindReceiver<typeof EvaluationEvent> = {
  path: 'llm-evaluations',
  summary: 'Receive an LLM Gateway evaluation completion',
  description: 'The gateway posts here (the `webhookUrl` the job gave it) when an evaluation ends. A valid Standard Webhooks signature ' +
    '(WEBHOOK_SIGNING_SECRET) or the `X-Webhook-Secret` header authenticates it. The waiting job completes from it at once; a repeated ' +
    '`webhook-id` changes nothing.',
  body: EvaluationEvent,
  signatureAlone: true,
  event: (body) => ({
    eventType: `evaluation.${body.status.toLowerCase()}`,
    remoteRef: body.evaluationId,
    timeline: { type: 'evaluation', data: { evaluationId: body.evaluationId, status: body.status, metrics: body.metrics ?? null } },
    wake: body.status === 'COMPLETED' || body.status === 'FAILED',
    auditDetails: { evaluationId: body.evaluationId, status: body.status, privacyMaskingApplied: body.privacyMaskingApplied ?? null }
  })
}

export function createLlmEvaluationKind (deps: KindDeps, actions: ActionServices): JobKind<typeof Body, State> {
  const { now } = deps
  const gateway = (ctx: StepContext<BodyInput, State>) => ctx.job.input.engine as GatewaySettings

  async function awaitCompletion (ctx: StepContext<BodyInput, State>): Promise<StepOutcome<State>> {
    const id = ctx.state.remoteId!
    const state = { ...ctx.state, polls: ctx.state.polls + 1 }
    // The completion webhook, when it came, is the answer; otherwise ask Genesys (fallback polling).
    let report = await ctx.latestWebhook(evaluationsReceiver.path) as { status?: string, startTime?: string, completionTime?: string, metrics?: Record<string, unknown>, privacyMaskingApplied?: boolean } | undefined
    let via = 'webhook'
    if (report?.status !== 'COMPLETED' && report?.status !== 'FAILED') {
      try {
        report = await genesysOf(deps, ctx.job).llm.get(id, ctx.signal)
        via = 'poll'
      } catch (err) {
        return outcomeOfGenesysError(err, `Reading evaluation ${id}`, { 404: 'EVALUATION_NOT_FOUND', default: 'EVALUATION_POLL_FAILED' })
      }
    }
    if (report.status === 'COMPLETED' || report.status === 'FAILED') {
      const started = report.startTime === undefined ? ctx.state.startedAt ?? ctx.job.createdAt : Date.parse(report.startTime)
      const completed = report.completionTime === undefined ? now() : Date.parse(report.completionTime)
      const result = {
        evaluationId: id,
        engine: 'gateway',
        status: report.status,
        completedVia: via,
        metrics: report.metrics ?? {},
        accuracyRate: (report.metrics?.accuracy as number | undefined) ?? null,
        executionLatencyMs: Math.max(0, completed - started),
        privacyMaskingApplied: report.privacyMaskingApplied ?? ctx.job.input.privacyMasking.enabled,
        complianceTag: COMPLIANCE_TAG
      }
      if (report.status === 'FAILED') return fail('EVALUATION_FAILED', `The LLM Gateway reported the evaluation ${id} FAILED`, { details: result }, state)
      return succeed(result, state)
    }
    const delay = gateway(ctx).pollIntervalMs ?? 10_000
    return waitFor('await', state, delay, `evaluation ${report.status ?? 'pending'}; waiting for the completion webhook (fallback poll in ${delay} ms)`, now())
  }

  return {
    name: 'llm-evaluation',
    summary: 'Evaluate an LLM against a dataset',
    description: 'Two engines. `data-action` (the real path: orgs front their models with data actions): every row\'s prompt, masked first ' +
      'when privacyMasking is on, runs through the action at most `concurrency` at a time under the shared rate limit; accuracy is the ' +
      'share of rows whose normalised output equals the normalised expected output, latency p50/p95/max; hallucination_rate and ' +
      'toxicity_score come from a judge data action (required for them). `gateway`: the LLM Gateway evaluations API of design document 000, ' +
      'created once under a stable Idempotency-Key, validated, aggregated, and completed by its webhook to ' +
      '`/v1/webhooks/genesys/llm-evaluations` or by fallback polling. Data-action engine: errors are counted apart from mismatches ' +
      '(`errorRate`; accuracy over the rows that produced an output), a run whose rows all fail ends `ALL_ROWS_FAILED`, a run that ' +
      'ends early keeps the metrics of the rows it finished (`partial: true`); every row is at `GET /v1/jobs/{id}/items` and two ' +
      'runs of one dataset compare at `GET /v1/jobs/{id}/compare/{otherId}`. Genesys permission for the data-action engine: `integrations:action:execute`.',
    body: Body,
    example: {
      datasetMatrix: [
        { prompt: 'status order check', expectedOutput: 'check order status' },
        { prompt: 'refund a request', expectedOutput: 'request a refund' }
      ],
      metricCalculationDirectives: { accuracy: true, latency: true, hallucination_rate: false, toxicity_score: false },
      privacyMasking: { enabled: true, patterns: ['EMAIL', 'PHONE', 'CCN'] },
      engine: { type: 'data-action', actionId: FIXTURE_IDS.actions.llm, concurrency: 5 },
      retryUnknownOutcome: false
    },
    validate: checkLlmBody,
    // 5 000 rows of long prompts: well over the default 1 MiB.
    bodyLimit: 64 * 1024 * 1024,
    initialStep: 'start',
    initialState: (body) => ({ evaluationId: body.evaluationId ?? randomUUID(), capacityChecks: 0, polls: 0 }),
    receivers: [evaluationsReceiver as unknown as KindReceiver],
    rerunRows: {
      selections: ['errors', 'mismatches'],
      select (input, items, selection) {
        if (input.engine.type !== 'data-action') {
          throw invalid('ROWS_NOT_RECORDED', 'rows re-runs rows of the data-action engine, which records each row; the gateway engine keeps no per-row outcomes: leave rows out to re-run the whole evaluation')
        }
        // Rows recorded as errors, or answered with an output that differs from the expected one (as accuracy counts them).
        const wanted = selection === 'errors' ? 'error' : 'mismatch'
        return [...items].filter(([, data]) => outcomeOfRow(data as RowOutcome) === wanted).map(([index]) => index).sort((a, b) => a - b)
      },
      input: (input, rows) => ({ ...input, datasetMatrix: rows.map((i) => input.datasetMatrix[i]!) })
    },
    resultSchema: LlmEvaluationResult,
    resultExample: LLM_RESULT_EXAMPLE,
    items: llmRows(maskedPrompt),
    // A run that ends early keeps the metrics of the rows it finished (data-action engine; the gateway reports none until it ends).
    async partialResult ({ input, state, rerun, items }) {
      if (input.engine.type !== 'data-action' || state.startedAt === undefined) return undefined
      const done = await items()
      return dataActionResult(input, state, done, now(), done.size < input.datasetMatrix.length, rerun)
    },
    auditDetails: (status, state, input) => ({
      complianceTag: COMPLIANCE_TAG,
      evaluationId: state.evaluationId,
      engine: input.engine.type,
      rows: input.datasetMatrix.length,
      privacyMaskingApplied: input.privacyMasking.enabled,
      outcome: status
    }),
    steps: {
      async start (ctx) {
        const state = { ...ctx.state, startedAt: ctx.state.startedAt ?? now() }
        return next(ctx.job.input.engine.type === 'data-action' ? 'rows' : 'capacity', state)
      },

      async rows (ctx) {
        return await runRows(actions, genesysOf(deps, ctx.job), ctx, now)
      },

      /** Waits, instead of failing, while the gateway runs as many evaluations as it allows. */
      async capacity (ctx) {
        const settings = gateway(ctx)
        const limit = settings.runningLimit ?? 10
        let running
        try {
          running = await genesysOf(deps, ctx.job).llm.countRunning({ pageSize: settings.pageSize ?? 100, signal: ctx.signal })
        } catch (err) {
          return outcomeOfGenesysError(err, 'Counting running evaluations', { default: 'EVALUATION_LIST_FAILED' })
        }
        const checks = ctx.state.capacityChecks + 1
        if (running.running >= limit) {
          const delay = Math.min(1000 * 1.5 ** Math.min(checks, 8), 30_000)
          return waitFor('capacity', { ...ctx.state, capacityChecks: checks }, delay,
            `${running.running} evaluations RUNNING (limit ${limit}, ${running.pages} page(s) read); checking again in ${Math.round(delay)} ms`, now())
        }
        return next('create', { ...ctx.state, capacityChecks: checks })
      },

      /** The key is derived from the job, so every try after a crash names the same evaluation. */
      async create (ctx) {
        const body = ctx.job.input
        const settings = gateway(ctx)
        const idempotencyKey = `orchestrator-${ctx.job.id}-create`
        let created
        try {
          created = await genesysOf(deps, ctx.job).llm.create({
            evaluationId: ctx.state.evaluationId,
            datasetMatrix: body.datasetMatrix.map((r) => ({ ...r, prompt: maskedPrompt(body, r.prompt) })),
            metricCalculationDirectives: body.metricCalculationDirectives,
            privacyMasking: body.privacyMasking,
            webhookUrl: `${deps.publicBaseUrl()}/v1/webhooks/genesys/${evaluationsReceiver.path}`
          }, idempotencyKey, ctx.signal)
        } catch (err) {
          if (err instanceof GenesysError && err.status === 409) {
            // Not our key: the gateway is at its concurrency limit. Wait for capacity again.
            const delay = settings.pollIntervalMs ?? 10_000
            return waitFor('capacity', ctx.state, delay, `the gateway refused a new evaluation (${err.message}); waiting for capacity`, now())
          }
          return outcomeOfGenesysError(err, 'Creating the evaluation', { default: 'EVALUATION_REJECTED' })
        }
        return next('validate', { ...ctx.state, remoteId: created.id }, { remoteRef: created.id })
      },

      async validate (ctx) {
        const id = ctx.state.remoteId!
        let check
        try {
          check = await genesysOf(deps, ctx.job).llm.validateMetrics(id, Math.min(ctx.job.input.datasetMatrix.length, 50), ctx.signal)
        } catch (err) {
          return outcomeOfGenesysError(err, `Validating metrics of evaluation ${id}`, { default: 'METRICS_VALIDATION_FAILED' })
        }
        if (!check.compatible) {
          return fail('METRICS_INCOMPATIBLE', `The gateway found the metric directives incompatible with the dataset: ${check.warnings.join('; ') || 'no reason given'}`, { details: { warnings: check.warnings } })
        }
        return next('aggregate', ctx.state)
      },

      async aggregate (ctx) {
        const id = ctx.state.remoteId!
        try {
          await genesysOf(deps, ctx.job).llm.triggerAggregation(id, ctx.signal)
        } catch (err) {
          return outcomeOfGenesysError(err, `Triggering aggregation of evaluation ${id}`, { default: 'AGGREGATION_TRIGGER_FAILED' })
        }
        // Look once at once: an evaluation found already created (a retry) may have ended, and its
        // webhook come, before this job knew its id.
        return next('await', ctx.state)
      },

      async await (ctx) {
        return await awaitCompletion(ctx)
      }
    }
  }
}
