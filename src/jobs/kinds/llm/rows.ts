import { Type } from 'typebox'
import type { KindItems } from '../../kind.ts'
import { computeMetrics, outcomeOfRow, ROW_OUTCOMES, type RowOutcome, type WantedMetrics } from './metrics.ts'

/** What the rows need of a job's input: the dataset, the masking that was asked for, the engine. */
export interface RowsInput {
  datasetMatrix: Array<{ prompt: string, expectedOutput: string }>
  engine: { type: string }
  metricCalculationDirectives: Record<string, boolean>
}

const ErrorSchema = Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()])

export const RowSchema = Type.Object({
  index: Type.Integer({ description: 'The row of `datasetMatrix`, from 0' }),
  outcome: Type.Enum([...ROW_OUTCOMES], { description: '`match`: the output equals the expected output (trimmed, lower-cased, white space folded); `mismatch`: it does not; `error`: the row produced no output' }),
  match: Type.Union([Type.Boolean(), Type.Null()], { description: 'null when the row produced no output' }),
  prompt: Type.String({ description: 'The prompt as sent to the action: masked when the job asked for privacy masking' }),
  expectedOutput: Type.String(),
  output: Type.Union([Type.String(), Type.Null()]),
  latencyMs: Type.Union([Type.Number(), Type.Null()], { description: "The action's answer time" }),
  hallucination: Type.Union([Type.Number(), Type.Null()], { description: "The judge's score, when a judge scored the row" }),
  toxicity: Type.Union([Type.Number(), Type.Null()]),
  error: ErrorSchema,
  judgeError: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()], { description: 'The judge could not score the row; its output still counts' })
}, {
  examples: [{ index: 4, outcome: 'mismatch', match: false, prompt: 'mail me at [EMAIL]', expectedOutput: 'send the order status by e-mail', output: '[EMAIL] at me mail', latencyMs: 212, hallucination: 1, toxicity: 0, error: null, judgeError: null }]
})

/** The metrics the job asked for that the data-action engine can compute (judge metrics only with a judge). */
export function wantedMetrics (input: RowsInput & { engine: { type: string, judgeActionId?: string } }): WantedMetrics {
  const d = input.metricCalculationDirectives
  const judge = input.engine.judgeActionId !== undefined && (d.hallucination_rate === true || d.toxicity_score === true)
  return { accuracy: d.accuracy !== false, latency: d.latency !== false, hallucination_rate: d.hallucination_rate === true && judge, toxicity_score: d.toxicity_score === true && judge }
}

const GATEWAY_HAS_NO_ROWS = 'This evaluation ran on the LLM Gateway engine, whose API reports aggregate metrics only ' +
  '(GET /api/v2/ai/llm/evaluations/{id} returns no per-row outcomes), so it has no rows to list or compare. ' +
  'Run the dataset with the data-action engine to keep every row.'

/**
 * Every row of an LLM evaluation (data-action engine): saved with its outcome as its answer comes
 * in, read page by page, exported, and compared with another run of the same dataset.
 */
export function llmRows (maskedPrompt: (input: any, prompt: string) => string): KindItems<RowsInput & { engine: { type: string, judgeActionId?: string } }> {
  return {
    outcomes: ROW_OUTCOMES,
    outcomeOf: (data) => outcomeOfRow(data as RowOutcome),
    unavailable: (input) => (input.engine.type === 'gateway' ? GATEWAY_HAS_NO_ROWS : undefined),
    schema: RowSchema,
    view (index, data, outcome, input) {
      const row = data as RowOutcome
      return {
        index,
        outcome,
        match: outcome === 'match' ? true : outcome === 'mismatch' ? false : null,
        // Rows saved before the prompt was kept with them: masked the same way from the input.
        prompt: row.prompt ?? maskedPrompt(input(), input().datasetMatrix[index]?.prompt ?? ''),
        expectedOutput: row.expectedOutput,
        output: row.output ?? null,
        latencyMs: row.latencyMs ?? null,
        hallucination: row.hallucination ?? null,
        toxicity: row.toxicity ?? null,
        error: row.error ?? null,
        judgeError: row.judgeError ?? null
      }
    },
    table: {
      columns: [
        { name: 'index', value: (r) => r.index as number },
        { name: 'outcome', value: (r) => r.outcome as string },
        { name: 'match', value: (r) => r.match as boolean | null },
        { name: 'prompt', value: (r) => r.prompt as string },
        { name: 'expectedOutput', value: (r) => r.expectedOutput as string },
        { name: 'output', value: (r) => r.output as string | null },
        { name: 'latencyMs', value: (r) => r.latencyMs as number | null },
        { name: 'hallucination', value: (r) => r.hallucination as number | null },
        { name: 'toxicity', value: (r) => r.toxicity as number | null },
        { name: 'errorCode', value: (r) => (r.error as { code: string } | null)?.code },
        { name: 'errorMessage', value: (r) => (r.error as { message: string } | null)?.message },
        { name: 'judgeErrorCode', value: (r) => (r.judgeError as { code: string } | null)?.code },
        { name: 'judgeErrorMessage', value: (r) => (r.judgeError as { message: string } | null)?.message }
      ]
    },
    comparison: {
      mismatch (input, other) {
        const a = input.datasetMatrix
        const b = other.datasetMatrix
        if (a.length !== b.length) return `the datasets differ: this run has ${a.length} rows, the other ${b.length}`
        const differs = a.findIndex((row, i) => row.prompt !== b[i]!.prompt)
        if (differs >= 0) return `the datasets differ: the prompt of row ${differs} is not the same text in both runs`
        return undefined
      },
      figures (items, input) {
        const m = computeMetrics(items.values() as Iterable<RowOutcome>, input.datasetMatrix.length, { accuracy: true, latency: true, ...judgeWanted(input) })
        return {
          completedRows: m.completedRows,
          accuracy: m.accuracy ?? null,
          errorRate: m.errorRate,
          latencyP50Ms: m.latencyMs?.p50 ?? null,
          latencyP95Ms: m.latencyMs?.p95 ?? null,
          hallucination_rate: m.hallucination_rate ?? null,
          toxicity_score: m.toxicity_score ?? null
        }
      },
      flips: [['match', 'mismatch'], ['mismatch', 'match']],
      table: {
        columns: [
          { name: 'index', value: (f) => f.index },
          { name: 'prompt', value: (f) => f.item.prompt as string },
          { name: 'expectedOutput', value: (f) => f.item.expectedOutput as string },
          { name: 'outcome', value: (f) => f.outcome },
          { name: 'output', value: (f) => f.item.output as string | null },
          { name: 'otherOutcome', value: (f) => f.otherOutcome },
          { name: 'otherOutput', value: (f) => f.otherItem.output as string | null },
          { name: 'otherExpectedOutput', value: (f) => f.otherItem.expectedOutput as string }
        ]
      }
    }
  }
}

function judgeWanted (input: RowsInput & { engine: { judgeActionId?: string } }): Pick<WantedMetrics, 'hallucination_rate' | 'toxicity_score'> {
  const w = wantedMetrics(input)
  return { hallucination_rate: w.hallucination_rate, toxicity_score: w.toxicity_score }
}
