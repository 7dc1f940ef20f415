/** Output and expected answer compare equal after trimming, lower-casing and folding white space. */
export const normalizeAnswer = (text: string): string => text.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ')

/** Nearest-rank percentile of a non-empty list. */
export function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[Math.min(rank, sorted.length) - 1]!
}

export interface RowOutcome {
  output?: string
  expectedOutput: string
  latencyMs?: number
  hallucination?: number
  toxicity?: number
  error?: { code: string, message: string }
  /** The judge could not score this row; its output still counts. */
  judgeError?: { code: string, message: string }
}

export interface EvaluationMetrics {
  rows: number
  failedRows: number
  accuracy?: number
  latencyMs?: { p50: number, p95: number, max: number }
  hallucination_rate?: number
  toxicity_score?: number
}

const mean = (values: number[]) => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length)

/**
 * Accuracy is the share of all rows whose normalised output equals the normalised expected
 * output (a failed row counts as wrong); judge scores are averaged over the rows judged.
 */
export function computeMetrics (rows: RowOutcome[], wanted: { accuracy: boolean, latency: boolean, hallucination_rate: boolean, toxicity_score: boolean }): EvaluationMetrics {
  const ok = rows.filter((r) => r.error === undefined && r.output !== undefined)
  const metrics: EvaluationMetrics = { rows: rows.length, failedRows: rows.length - ok.length }
  if (wanted.accuracy) {
    metrics.accuracy = rows.length === 0 ? 0 : ok.filter((r) => normalizeAnswer(r.output!) === normalizeAnswer(r.expectedOutput)).length / rows.length
  }
  const latencies = ok.map((r) => r.latencyMs).filter((v): v is number => v !== undefined)
  if (wanted.latency && latencies.length > 0) {
    metrics.latencyMs = { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: Math.max(...latencies) }
  }
  if (wanted.hallucination_rate) metrics.hallucination_rate = mean(ok.map((r) => r.hallucination).filter((v): v is number => v !== undefined))
  if (wanted.toxicity_score) metrics.toxicity_score = mean(ok.map((r) => r.toxicity).filter((v): v is number => v !== undefined))
  return metrics
}
