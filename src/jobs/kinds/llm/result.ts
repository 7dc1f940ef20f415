import { Type } from 'typebox'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T, description?: string) =>
  Type.Union([schema, Type.Null()], description === undefined ? {} : { description })

const DataActionMetrics = Type.Object({
  rows: Type.Integer({ description: 'Rows in the dataset' }),
  completedRows: Type.Integer({ description: 'Rows with an outcome; fewer than `rows` in a partial result' }),
  matchedRows: Type.Integer(),
  mismatchedRows: Type.Integer(),
  failedRows: Type.Integer({ description: 'Rows that produced no output (errors), counted apart from mismatches' }),
  errorRate: Nullable(Type.Number(), 'failedRows ÷ completedRows'),
  accuracy: Type.Optional(Nullable(Type.Number(), 'matchedRows ÷ rows that produced an output (errors left out); null when none did')),
  latencyMs: Type.Optional(Type.Object({ p50: Type.Number(), p95: Type.Number(), max: Type.Number() })),
  hallucination_rate: Type.Optional(Nullable(Type.Number(), "Mean of the judge's scores over the rows it scored")),
  toxicity_score: Type.Optional(Nullable(Type.Number()))
})

const common = {
  evaluationId: Type.String(),
  accuracyRate: Nullable(Type.Number()),
  executionLatencyMs: Type.Number({ description: 'The whole evaluation, start to end' }),
  privacyMaskingApplied: Type.Boolean(),
  complianceTag: Type.Literal('AI_EVAL_V2')
}

export const DataActionEvaluationResult = Type.Object({
  engine: Type.Literal('data-action'),
  partial: Type.Boolean({ description: 'true: the run ended early (cancelled, failed, timed out) and the metrics cover the rows it finished' }),
  metrics: DataActionMetrics,
  ...common,
  failedRowSamples: Type.Optional(Type.Array(Type.Object({
    row: Type.Integer(),
    originalRow: Type.Optional(Type.Integer({ description: 'In a re-run of some rows: the same row in the original job' })),
    error: Type.Object({ code: Type.String(), message: Type.String() })
  }), {
    description: 'The first 20 rows that produced no output; every row is in `GET /v1/jobs/{id}/items?outcome=error`'
  })),
  rerunOf: Type.Optional(Type.Object({
    jobId: Type.String({ description: 'The job whose rows this one re-ran' }),
    rows: Type.Enum(['errors', 'mismatches'], { description: 'Which rows of it were asked for' }),
    originalRows: Type.Array(Type.Integer(), { description: 'Row i of this run is row originalRows[i] of that job' })
  }, { description: 'In a re-run of some rows (`POST /v1/jobs/{id}/rerun` with `rows`): which rows of the original it covers' }))
})

export const GatewayEvaluationResult = Type.Object({
  engine: Type.Literal('gateway'),
  status: Type.Enum(['COMPLETED', 'FAILED']),
  completedVia: Type.Enum(['webhook', 'poll']),
  metrics: Type.Record(Type.String(), Type.Unknown(), { description: 'The metrics the LLM Gateway reported' }),
  ...common
})

/** A result of either engine, told apart by `engine`. */
export const LlmEvaluationResult = Type.Union([DataActionEvaluationResult, GatewayEvaluationResult])

export const LLM_RESULT_EXAMPLE = {
  evaluationId: '0193b0b2-7c1e-7a8e-9d0e-2b1c3d4e5f60',
  engine: 'data-action',
  partial: false,
  metrics: { rows: 200, completedRows: 200, matchedRows: 90, mismatchedRows: 90, failedRows: 20, errorRate: 0.1, accuracy: 0.5, latencyMs: { p50: 180, p95: 420, max: 610 } },
  accuracyRate: 0.5,
  executionLatencyMs: 41_250,
  privacyMaskingApplied: true,
  complianceTag: 'AI_EVAL_V2',
  failedRowSamples: [{ row: 5, error: { code: 'GENESYS_400', message: 'Executing the model action: the model refused the prompt' } }]
}
