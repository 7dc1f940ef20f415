/** Output and expected answer compare equal after trimming, lower-casing and folding white space. */
export const normalizeAnswer = (text: string): string => text.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ')

/** Nearest-rank percentile of a non-empty list. */
export function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[Math.min(rank, sorted.length) - 1]!
}

/** What one dataset row came to, as it is saved (job_items.data). */
export interface RowOutcome {
  /** The prompt as sent to the action: masked when the job asked for masking. Absent on rows saved before it was kept. */
  prompt?: string
  output?: string
  expectedOutput: string
  latencyMs?: number
  hallucination?: number
  toxicity?: number
  error?: { code: string, message: string }
  /** The judge could not score this row; its output still counts. */
  judgeError?: { code: string, message: string }
}

export const ROW_OUTCOMES = ['match', 'mismatch', 'error'] as const
export type RowOutcomeName = typeof ROW_OUTCOMES[number]

/** `error`: the row produced no output; otherwise whether its output equals the expected one (normalised). */
export function outcomeOfRow (row: RowOutcome): RowOutcomeName {
  if (row.error !== undefined || row.output === undefined) return 'error'
  return normalizeAnswer(row.output) === normalizeAnswer(row.expectedOutput) ? 'match' : 'mismatch'
}

export interface EvaluationMetrics {
  /** Rows in the dataset. */
  rows: number
  /** Rows that have an outcome (all of them once the run ended normally). */
  completedRows: number
  matchedRows: number
  mismatchedRows: number
  /** Rows that produced no output (the action failed for them): counted apart from mismatches. */
  failedRows: number
  /** failedRows ÷ completedRows; null before any row completed. */
  errorRate: number | null
  /** matchedRows ÷ rows that produced an output; null when none did. */
  accuracy?: number | null
  latencyMs?: { p50: number, p95: number, max: number }
  hallucination_rate?: number | null
  toxicity_score?: number | null
}

export interface WantedMetrics { accuracy: boolean, latency: boolean, hallucination_rate: boolean, toxicity_score: boolean }

const mean = (values: number[]): number | null => (values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length)

/**
 * The metrics of the rows that completed, out of `rows` in the dataset. Errors are not wrong
 * answers: accuracy is over the rows that produced an output, and the rows that did not are the
 * error rate. Judge scores are averaged over the rows the judge scored (null when it scored none).
 */
export function computeMetrics (completed: Iterable<RowOutcome>, rows: number, wanted: WantedMetrics): EvaluationMetrics {
  const all = [...completed]
  const answered = all.filter((r) => outcomeOfRow(r) !== 'error')
  const matched = answered.filter((r) => outcomeOfRow(r) === 'match').length
  const failed = all.length - answered.length
  const metrics: EvaluationMetrics = {
    rows,
    completedRows: all.length,
    matchedRows: matched,
    mismatchedRows: answered.length - matched,
    failedRows: failed,
    errorRate: all.length === 0 ? null : failed / all.length
  }
  if (wanted.accuracy) metrics.accuracy = answered.length === 0 ? null : matched / answered.length
  const latencies = answered.map((r) => r.latencyMs).filter((v): v is number => v !== undefined)
  if (wanted.latency && latencies.length > 0) {
    metrics.latencyMs = { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: Math.max(...latencies) }
  }
  if (wanted.hallucination_rate) metrics.hallucination_rate = mean(answered.map((r) => r.hallucination).filter((v): v is number => v !== undefined))
  if (wanted.toxicity_score) metrics.toxicity_score = mean(answered.map((r) => r.toxicity).filter((v): v is number => v !== undefined))
  return metrics
}
