import { test } from 'node:test'
import assert from 'node:assert/strict'
import { progressOf } from '../../src/jobs/resource.ts'
import { bucketCount } from '../../src/jobs/kinds/routing/result.ts'
import { computeMetrics, outcomeOfRow } from '../../src/jobs/kinds/llm/metrics.ts'

const T0 = Date.parse('2026-11-23T10:00:00.000Z')
const row = (done: number, total: number, extra: Partial<Parameters<typeof progressOf>[0]> = {}) =>
  ({ progressDone: done, progressTotal: total, startedAt: T0, finishedAt: null, status: 'running', ...extra })

test('progress: a 5 000-row run at the default rate limit (300 requests a minute, one per row) is estimated at about 17 minutes', () => {
  // A minute in, 300 rows done: 5 a second, 4 700 left.
  const p = progressOf(row(300, 5000), T0 + 60_000)!
  assert.equal(p.ratePerSecond, 5)
  assert.equal(p.etaSeconds, 940)
  // At the first second, already: 5 rows done, 4 995 left at 5 a second, 999 s: about 17 minutes.
  const early = progressOf(row(5, 5000), T0 + 1000)!
  assert.equal(early.etaSeconds, 999)
  assert.equal(Math.round(early.etaSeconds! / 60), 17)
})

test('progress: no rate before a row is done or a second has passed; no estimate once the job ended; 0 left when all are done', () => {
  assert.deepEqual(progressOf(row(0, 10), T0 + 60_000), { done: 0, total: 10, ratePerSecond: null, etaSeconds: null })
  assert.deepEqual(progressOf(row(3, 10), T0 + 999), { done: 3, total: 10, ratePerSecond: null, etaSeconds: null })
  assert.deepEqual(progressOf(row(10, 10), T0 + 2000), { done: 10, total: 10, ratePerSecond: 5, etaSeconds: 0 })
  assert.deepEqual(progressOf(row(4, 10, { status: 'cancelled', finishedAt: T0 + 2000 }), T0 + 60_000), { done: 4, total: 10, ratePerSecond: 2, etaSeconds: null },
    'a cancelled job: its rate up to its end, nothing left to estimate')
  assert.equal(progressOf({ ...row(0, 0), progressTotal: null }, T0), null)
})

test('llm metrics: errors are counted apart from mismatches; accuracy is over the rows that produced an output; no judge score is made up', () => {
  const rows = [
    { output: 'b a', expectedOutput: 'B  a ' },
    { output: 'x', expectedOutput: 'y' },
    { expectedOutput: 'z', error: { code: 'GENESYS_400', message: 'refused' } },
    { output: 'q', expectedOutput: 'q', judgeError: { code: 'X', message: 'judge down' } }
  ]
  assert.deepEqual(rows.map(outcomeOfRow), ['match', 'mismatch', 'error', 'match'])
  const m = computeMetrics(rows, 10, { accuracy: true, latency: true, hallucination_rate: true, toxicity_score: false })
  assert.deepEqual({ ...m }, { rows: 10, completedRows: 4, matchedRows: 2, mismatchedRows: 1, failedRows: 1, errorRate: 0.25, accuracy: 2 / 3, hallucination_rate: null })
  const none = computeMetrics([{ expectedOutput: 'a', error: { code: 'E', message: 'm' } }], 1, { accuracy: true, latency: true, hallucination_rate: false, toxicity_score: false })
  assert.equal(none.accuracy, null)
  assert.equal(none.errorRate, 1)
})

test('routing series: how many intervals a granularity makes of a span (an upper bound for months); zero is no length', () => {
  assert.equal(bucketCount(3 * 86_400_000, 'P1D'), 3)
  assert.equal(bucketCount(86_400_000, 'PT15M'), 96)
  assert.equal(bucketCount(86_400_000 + 1, 'P1D'), 2)
  assert.equal(bucketCount(30 * 86_400_000, 'P1M'), 2, 'a month counts as 28 days')
  assert.equal(bucketCount(86_400_000, 'P0D'), undefined)
  assert.equal(bucketCount(86_400_000, 'every hour'), undefined)
})
