import { test } from 'node:test'
import assert from 'node:assert/strict'
import { scoreQueues } from '../../src/jobs/kinds/routing/scoring.ts'
import type { KpiSpec, QueueValues, ScoredQueue } from '../../src/jobs/kinds/routing/scoring.ts'
import { KPIS, DEFAULT_KPIS, DEFAULT_WEIGHTS, addStats } from '../../src/jobs/kinds/routing/kpis.ts'
import type { KpiName, MetricTotals } from '../../src/jobs/kinds/routing/kpis.ts'
import { aggregatesQuery, DEFAULT_MEDIA_TYPES, metricsFor } from '../../src/jobs/kinds/routing/query.ts'

const close = (actual: number | null | undefined, expected: number, label = '') => {
  assert.ok(typeof actual === 'number' && Math.abs(actual - expected) < 1e-9, `${label}: expected ${expected}, got ${actual}`)
}

const spec = (weights: Partial<Record<KpiName, number>>): KpiSpec[] =>
  (Object.keys(weights) as KpiName[]).map((name) => ({ name, higherIsBetter: KPIS[name].higherIsBetter, weight: weights[name]! }))

const DEFAULT_SPEC = spec({ handledCalls: 0.3, avgSpeedOfAnswer: 0.4, abandonedCalls: 0.3 })

const q = (queueId: string, handledCalls: number | null, avgSpeedOfAnswer: number | null, abandonedCalls: number | null): QueueValues =>
  ({ queueId, values: { handledCalls, avgSpeedOfAnswer, abandonedCalls } })

const byId = (rows: ScoredQueue[]) => new Map(rows.map((r) => [r.queueId, r]))

const checkScores = (rows: ScoredQueue[], expected: Array<[string, number, number]>) => {
  assert.deepEqual(rows.map((r) => r.queueId), expected.map(([id]) => id), 'order')
  for (const [i, [id, score, pr]] of expected.entries()) {
    close(rows[i]!.score, score, `${id} score`)
    close(rows[i]!.percentileRank, pr, `${id} percentileRank`)
  }
}

// Five queues shared by several tests.
// handledCalls (higher better): min 0, max 100, range 100
// avgSpeedOfAnswer (lower better): min 10, max 50, range 40
// abandonedCalls (lower better): min 0, max 20, range 20
const FIVE = [
  q('q1', 100, 10, 0),
  q('q2', 50, 30, 10),
  q('q3', 0, 20, 20),
  q('q4', 75, 50, 5),
  q('q5', 25, 40, 15)
]
// Normalised by hand:
//   q1: H 100/100 = 1     S 1-0/40 = 1       A 1-0/20 = 1
//   q2: H 50/100 = 0.5    S 1-20/40 = 0.5    A 1-10/20 = 0.5
//   q3: H 0/100 = 0       S 1-10/40 = 0.75   A 1-20/20 = 0
//   q4: H 75/100 = 0.75   S 1-40/40 = 0      A 1-5/20 = 0.75
//   q5: H 25/100 = 0.25   S 1-30/40 = 0.25   A 1-15/20 = 0.25

test('routing scoring: five queues with default weights — scores, order and percentile ranks', () => {
  const rows = scoreQueues(FIVE, DEFAULT_SPEC)
  // q1: 0.3·1    + 0.4·1    + 0.3·1    = 1.0
  // q2: 0.3·0.5  + 0.4·0.5  + 0.3·0.5  = 0.15 + 0.2 + 0.15 = 0.5
  // q3: 0.3·0    + 0.4·0.75 + 0.3·0    = 0.3
  // q4: 0.3·0.75 + 0.4·0    + 0.3·0.75 = 0.225 + 0.225 = 0.45
  // q5: 0.3·0.25 + 0.4·0.25 + 0.3·0.25 = 0.075 + 0.1 + 0.075 = 0.25
  // ascending: q5 (rank 1), q3 (2), q4 (3), q2 (4), q1 (5); n = 5 → rank/5
  checkScores(rows, [
    ['q1', 1.0, 5 / 5],
    ['q2', 0.5, 4 / 5],
    ['q4', 0.45, 3 / 5],
    ['q3', 0.3, 2 / 5],
    ['q5', 0.25, 1 / 5]
  ])
  const m = byId(rows)
  close(m.get('q3')!.kpis.avgSpeedOfAnswer!.normalized, 0.75, 'q3 S')
  close(m.get('q4')!.kpis.handledCalls!.normalized, 0.75, 'q4 H')
  close(m.get('q4')!.kpis.abandonedCalls!.normalized, 0.75, 'q4 A')
  close(m.get('q4')!.kpis.avgSpeedOfAnswer!.normalized, 0, 'q4 S')
  close(m.get('q5')!.kpis.avgSpeedOfAnswer!.normalized, 0.25, 'q5 S')
  assert.equal(m.get('q2')!.kpis.handledCalls!.value, 50)
  assert.equal(m.get('q5')!.kpis.avgSpeedOfAnswer!.value, 40)
})

test('routing scoring: default weights in the catalogue are 0.3 / 0.4 / 0.3', () => {
  assert.deepEqual(DEFAULT_KPIS, ['handledCalls', 'avgSpeedOfAnswer', 'abandonedCalls'])
  assert.deepEqual(DEFAULT_WEIGHTS, { handledCalls: 0.3, avgSpeedOfAnswer: 0.4, abandonedCalls: 0.3 })
})

test('routing scoring: two queues with identical values share the average of ranks 2 and 3', () => {
  // H: min 0 max 10 → a 1, b 0.5, c 0.5, d 0
  // S: min 10 max 30 (inverted) → a 1, b 1-10/20 = 0.5, c 0.5, d 0
  // A: min 0 max 10 (inverted) → a 1, b 1-5/10 = 0.5, c 0.5, d 0
  // scores: a 1, b 0.5, c 0.5, d 0
  // ascending: d rank 1, b/c ranks 2 and 3 → (2+3)/2 = 2.5, a rank 4; n = 4
  // → d 1/4 = 0.25, b = c = 2.5/4 = 0.625, a 4/4 = 1
  // b before c by queueId although c is given first
  const rows = scoreQueues([q('d', 0, 30, 10), q('c', 5, 20, 5), q('a', 10, 10, 0), q('b', 5, 20, 5)], DEFAULT_SPEC)
  checkScores(rows, [
    ['a', 1, 1],
    ['b', 0.5, 0.625],
    ['c', 0.5, 0.625],
    ['d', 0, 0.25]
  ])
  assert.equal(rows[1]!.score, rows[2]!.score)
})

test('routing scoring: a three-way tie shares the average of ranks 2, 3 and 4', () => {
  // H: min 0 max 2 → x 1, y 0.5, z 0; S: min 0 max 2 inverted → x 1, y 0.5, z 0; A likewise
  // scores: x 1, y1 = y2 = y3 = 0.15 + 0.2 + 0.15 = 0.5, z 0
  // ascending: z rank 1, y's ranks 2,3,4 → (2+3+4)/3 = 3, x rank 5; n = 5
  // → z 1/5 = 0.2, y's 3/5 = 0.6, x 5/5 = 1
  const rows = scoreQueues([q('y3', 1, 1, 1), q('z', 0, 2, 2), q('y1', 1, 1, 1), q('x', 2, 0, 0), q('y2', 1, 1, 1)], DEFAULT_SPEC)
  checkScores(rows, [
    ['x', 1, 1],
    ['y1', 0.5, 0.6],
    ['y2', 0.5, 0.6],
    ['y3', 0.5, 0.6],
    ['z', 0, 0.2]
  ])
})

test('routing scoring: all queues tied share the middle rank', () => {
  // every KPI equal for every queue → every normalised value 0 → every score 0
  // ranks 1..4 all tied → (1+2+3+4)/4 = 2.5 → 2.5/4 = 0.625
  const rows = scoreQueues([q('d', 5, 5, 5), q('b', 5, 5, 5), q('a', 5, 5, 5), q('c', 5, 5, 5)], DEFAULT_SPEC)
  checkScores(rows, [['a', 0, 0.625], ['b', 0, 0.625], ['c', 0, 0.625], ['d', 0, 0.625]])
})

test('routing scoring: a KPI equal for all queues contributes 0 to every queue', () => {
  // A = 7 for everyone → max = min → 0 for all
  // H: min 10 max 30 → p 20/20 = 1, q 0, r 10/20 = 0.5
  // S: min 5 max 25 inverted → p 1, q 1-10/20 = 0.5, r 0
  // p: 0.3·1 + 0.4·1 + 0 = 0.7; q: 0 + 0.4·0.5 + 0 = 0.2; r: 0.3·0.5 + 0 + 0 = 0.15
  // ascending: r 1, q 2, p 3; n = 3
  const rows = scoreQueues([q('p', 30, 5, 7), q('q', 10, 15, 7), q('r', 20, 25, 7)], DEFAULT_SPEC)
  checkScores(rows, [['p', 0.7, 1], ['q', 0.2, 2 / 3], ['r', 0.15, 1 / 3]])
  for (const row of rows) {
    assert.equal(row.kpis.abandonedCalls!.normalized, 0)
    assert.equal(row.kpis.abandonedCalls!.value, 7)
  }
})

test('routing scoring: a single queue normalises every KPI to 0, scores 0 and has percentile rank 1', () => {
  // one queue → min = max for every KPI → all 0; score 0; rank 1 of n = 1 → 1/1
  const rows = scoreQueues([q('only', 100, 5, 3)], DEFAULT_SPEC)
  assert.equal(rows.length, 1)
  assert.equal(rows[0]!.queueId, 'only')
  assert.equal(rows[0]!.score, 0)
  assert.equal(rows[0]!.percentileRank, 1)
  assert.deepEqual(rows[0]!.kpis, {
    handledCalls: { value: 100, normalized: 0 },
    avgSpeedOfAnswer: { value: 5, normalized: 0 },
    abandonedCalls: { value: 3, normalized: 0 }
  })
})

test('routing scoring: no queues gives no rows', () => {
  assert.deepEqual(scoreQueues([], DEFAULT_SPEC), [])
})

test('routing scoring: the catalogue marks the right KPIs lower-is-better', () => {
  const lower = ['avgSpeedOfAnswer', 'abandonedCalls', 'avgHandleTime', 'transferRate', 'abandonRate'] as const
  const higher = ['handledCalls', 'offeredCalls', 'answeredCalls'] as const
  for (const name of lower) assert.equal(KPIS[name].higherIsBetter, false, name)
  for (const name of higher) assert.equal(KPIS[name].higherIsBetter, true, name)
  assert.deepEqual(Object.keys(KPIS).sort(), [...lower, ...higher].sort())
})

test('routing scoring: every lower-is-better KPI is inverted so the lowest raw value gets 1', () => {
  const lower = ['avgSpeedOfAnswer', 'abandonedCalls', 'avgHandleTime', 'transferRate', 'abandonRate'] as const
  // rates use 0.1 / 0.25 / 0.4, the others 2 / 5 / 8
  // counts: min 2 max 8 → low 1-0/6 = 1, mid 1-3/6 = 0.5, high 1-6/6 = 0
  // rates:  min 0.1 max 0.4 → low 1, mid 1-0.15/0.3 = 0.5, high 0
  for (const name of lower) {
    const isRate = name === 'transferRate' || name === 'abandonRate'
    const [lo, mid, hi] = isRate ? [0.1, 0.25, 0.4] : [2, 5, 8]
    const rows = scoreQueues([
      { queueId: 'hi', values: { [name]: hi } },
      { queueId: 'lo', values: { [name]: lo } },
      { queueId: 'mid', values: { [name]: mid } }
    ], spec({ [name]: 1 }))
    const m = byId(rows)
    close(m.get('lo')!.kpis[name]!.normalized, 1, `${name} lo`)
    close(m.get('mid')!.kpis[name]!.normalized, 0.5, `${name} mid`)
    close(m.get('hi')!.kpis[name]!.normalized, 0, `${name} hi`)
    // weight 1 → score = normalised; ascending hi 1, mid 2, lo 3 of 3
    checkScores(rows, [['lo', 1, 1], ['mid', 0.5, 2 / 3], ['hi', 0, 1 / 3]])
  }
  // higher-is-better KPIs are not inverted: the lowest raw value gets 0
  for (const name of ['handledCalls', 'offeredCalls', 'answeredCalls'] as const) {
    const rows = scoreQueues([{ queueId: 'lo', values: { [name]: 2 } }, { queueId: 'hi', values: { [name]: 8 } }], spec({ [name]: 1 }))
    const m = byId(rows)
    assert.equal(m.get('lo')!.kpis[name]!.normalized, 0, `${name} lo`)
    assert.equal(m.get('hi')!.kpis[name]!.normalized, 1, `${name} hi`)
  }
})

test('routing scoring: all five lower-is-better KPIs together, weight 1 each', () => {
  const values = (s: number, a: number, h: number, t: number, r: number) =>
    ({ avgSpeedOfAnswer: s, abandonedCalls: a, avgHandleTime: h, transferRate: t, abandonRate: r })
  const kpis = spec({ avgSpeedOfAnswer: 1, abandonedCalls: 1, avgHandleTime: 1, transferRate: 1, abandonRate: 1 })
  // good is lowest on every KPI → 1 each → 5; bad highest on every KPI → 0
  // mixed: S 1-(20-10)/20 = 0.5, A lowest → 1, H highest → 0, t 1-(0.2-0)/0.4 = 0.5, r 1-(0.5-0)/0.5 = 0
  //        → 0.5 + 1 + 0 + 0.5 + 0 = 2
  // ascending: bad 1, mixed 2, good 3
  const rows = scoreQueues([
    { queueId: 'bad', values: values(30, 9, 900, 0.4, 0.5) },
    { queueId: 'good', values: values(10, 1, 100, 0, 0) },
    { queueId: 'mixed', values: values(20, 1, 900, 0.2, 0.5) }
  ], kpis)
  checkScores(rows, [['good', 5, 1], ['mixed', 2, 2 / 3], ['bad', 0, 1 / 3]])
})

test('routing scoring: weights 0.5 / 0.25 / 0.25 reorder the queues', () => {
  const rows = scoreQueues(FIVE, spec({ handledCalls: 0.5, avgSpeedOfAnswer: 0.25, abandonedCalls: 0.25 }))
  // (normalised values as above FIVE)
  // q1: 0.5 + 0.25 + 0.25 = 1
  // q2: 0.25 + 0.125 + 0.125 = 0.5
  // q3: 0 + 0.25·0.75 + 0 = 0.1875
  // q4: 0.5·0.75 + 0 + 0.25·0.75 = 0.375 + 0.1875 = 0.5625 (now above q2)
  // q5: 0.125 + 0.0625 + 0.0625 = 0.25
  // ascending: q3 1, q5 2, q2 3, q4 4, q1 5
  checkScores(rows, [
    ['q1', 1, 1],
    ['q4', 0.5625, 0.8],
    ['q2', 0.5, 0.6],
    ['q5', 0.25, 0.4],
    ['q3', 0.1875, 0.2]
  ])
})

test('routing scoring: weights 1 / 1 / 1 (summing to 3) tie queues with different values', () => {
  const rows = scoreQueues(FIVE, spec({ handledCalls: 1, avgSpeedOfAnswer: 1, abandonedCalls: 1 }))
  // q1: 1+1+1 = 3; q2: 0.5+0.5+0.5 = 1.5; q3: 0+0.75+0 = 0.75; q4: 0.75+0+0.75 = 1.5; q5: 0.25·3 = 0.75
  // ascending: q3/q5 ranks 1,2 → 1.5/5 = 0.3; q2/q4 ranks 3,4 → 3.5/5 = 0.7; q1 5/5 = 1
  checkScores(rows, [
    ['q1', 3, 1],
    ['q2', 1.5, 0.7],
    ['q4', 1.5, 0.7],
    ['q3', 0.75, 0.3],
    ['q5', 0.75, 0.3]
  ])
})

test('routing scoring: weights 2 / 1 / 0.5 (summing to 3.5)', () => {
  const rows = scoreQueues(FIVE, spec({ handledCalls: 2, avgSpeedOfAnswer: 1, abandonedCalls: 0.5 }))
  // q1: 2 + 1 + 0.5 = 3.5
  // q2: 1 + 0.5 + 0.25 = 1.75
  // q3: 0 + 0.75 + 0 = 0.75
  // q4: 1.5 + 0 + 0.375 = 1.875
  // q5: 0.5 + 0.25 + 0.125 = 0.875
  // ascending: q3 1, q5 2, q2 3, q4 4, q1 5
  checkScores(rows, [
    ['q1', 3.5, 1],
    ['q4', 1.875, 0.8],
    ['q2', 1.75, 0.6],
    ['q5', 0.875, 0.4],
    ['q3', 0.75, 0.2]
  ])
})

test('routing scoring: a null value scores 0 for that KPI and is left out of min/max', () => {
  // H: min 0 max 40 → n1 0.25, n2 0.5, n3 0, n4 1
  // S: present 10, 20, 30 (null ignored, not 0) → min 10 max 30 inverted → n1 0 (null), n2 1, n3 0, n4 1-10/20 = 0.5
  // A: min 0 max 8 inverted → n1 1, n2 1-4/8 = 0.5, n3 1-2/8 = 0.75, n4 0
  // n1: 0.075 + 0 + 0.3 = 0.375
  // n2: 0.15 + 0.4 + 0.15 = 0.7
  // n3: 0 + 0 + 0.225 = 0.225
  // n4: 0.3 + 0.2 + 0 = 0.5
  // ascending: n3 1, n1 2, n4 3, n2 4; n = 4
  const rows = scoreQueues([q('n1', 10, null, 0), q('n2', 20, 10, 4), q('n3', 0, 30, 2), q('n4', 40, 20, 8)], DEFAULT_SPEC)
  checkScores(rows, [['n2', 0.7, 1], ['n4', 0.5, 0.75], ['n1', 0.375, 0.5], ['n3', 0.225, 0.25]])
  const m = byId(rows)
  assert.deepEqual(m.get('n1')!.kpis.avgSpeedOfAnswer, { value: null, normalized: 0 })
  close(m.get('n2')!.kpis.avgSpeedOfAnswer!.normalized, 1, 'n2 S')
  close(m.get('n4')!.kpis.avgSpeedOfAnswer!.normalized, 0.5, 'n4 S')
  for (const row of rows) assert.ok(Number.isFinite(row.score), `${row.queueId} score finite`)
})

test('routing scoring: a missing value is treated like null', () => {
  // H: a 10, b 0 → a 1, b 0; S: b's missing → only a present → min = max → 0 for both
  // a: 0.3·1 = 0.3, b: 0 → ascending b 1, a 2 of 2
  const rows = scoreQueues([{ queueId: 'a', values: { handledCalls: 10, avgSpeedOfAnswer: 5 } }, { queueId: 'b', values: { handledCalls: 0 } }],
    spec({ handledCalls: 0.3, avgSpeedOfAnswer: 0.4 }))
  checkScores(rows, [['a', 0.3, 1], ['b', 0, 0.5]])
  assert.deepEqual(rows[1]!.kpis.avgSpeedOfAnswer, { value: null, normalized: 0 })
  assert.equal(rows[0]!.kpis.avgSpeedOfAnswer!.normalized, 0)
})

test('routing scoring: a KPI null for every queue scores 0 without NaN', () => {
  // S null everywhere → no bounds → 0; H: a 4, b 2 → a 1, b 0; A: a 1, b 3 inverted → a 1, b 0
  // a: 0.3 + 0 + 0.3 = 0.6; b: 0 → ascending b 1, a 2
  const rows = scoreQueues([q('b', 2, null, 3), q('a', 4, null, 1)], DEFAULT_SPEC)
  checkScores(rows, [['a', 0.6, 1], ['b', 0, 0.5]])
  for (const row of rows) assert.deepEqual(row.kpis.avgSpeedOfAnswer, { value: null, normalized: 0 })
})

test('routing scoring: KPI value() functions read totals built with addStats', () => {
  const totals: MetricTotals = {}
  addStats(totals, 'tAnswered', { count: 2, sum: 3000 })
  addStats(totals, 'tAnswered', { count: 3, sum: 7000 }) // count 5, sum 10000
  addStats(totals, 'tHandle', { count: 4, sum: 8000 })
  addStats(totals, 'tHandle', { count: 6, sum: 22000 }) // count 10, sum 30000
  addStats(totals, 'nTransferred', { count: 3 }) // no sum → sum 0
  addStats(totals, 'tAbandon', { count: 2, sum: 500 })
  addStats(totals, 'nOffered', { count: 16 })
  addStats(totals, 'nOffered', { count: 4 }) // count 20
  addStats(totals, 'nOffered', {}) // adds nothing
  assert.deepEqual(totals, {
    tAnswered: { count: 5, sum: 10000 },
    tHandle: { count: 10, sum: 30000 },
    nTransferred: { count: 3, sum: 0 },
    tAbandon: { count: 2, sum: 500 },
    nOffered: { count: 20, sum: 0 }
  })
  assert.equal(KPIS.handledCalls.value(totals), 10) // tHandle count
  close(KPIS.avgSpeedOfAnswer.value(totals), 2000, 'asa') // 10000 / 5
  assert.equal(KPIS.abandonedCalls.value(totals), 2) // tAbandon count
  assert.equal(KPIS.offeredCalls.value(totals), 20) // 16 + 4
  assert.equal(KPIS.answeredCalls.value(totals), 5) // 2 + 3
  close(KPIS.avgHandleTime.value(totals), 3000, 'aht') // 30000 / 10
  close(KPIS.transferRate.value(totals), 0.3, 'transferRate') // 3 / 10
  close(KPIS.abandonRate.value(totals), 0.1, 'abandonRate') // 2 / 20
})

test('routing scoring: KPI value() functions give 0 counts and null ratios on empty totals', () => {
  const empty: MetricTotals = {}
  assert.equal(KPIS.handledCalls.value(empty), 0)
  assert.equal(KPIS.abandonedCalls.value(empty), 0)
  assert.equal(KPIS.offeredCalls.value(empty), 0)
  assert.equal(KPIS.answeredCalls.value(empty), 0)
  assert.equal(KPIS.avgSpeedOfAnswer.value(empty), null)
  assert.equal(KPIS.avgHandleTime.value(empty), null)
  assert.equal(KPIS.transferRate.value(empty), null)
  assert.equal(KPIS.abandonRate.value(empty), null)
})

test('routing scoring: ratio KPIs are null when the denominator is 0 even with a numerator', () => {
  const totals: MetricTotals = {}
  addStats(totals, 'tAnswered', { count: 0, sum: 500 }) // sum 500 / count 0
  addStats(totals, 'tHandle', { sum: 1200 }) // count stays 0
  addStats(totals, 'nTransferred', { count: 2 }) // 2 / tHandle count 0
  addStats(totals, 'tAbandon', { count: 1 }) // 1 / nOffered count 0 (absent)
  assert.equal(KPIS.avgSpeedOfAnswer.value(totals), null)
  assert.equal(KPIS.avgHandleTime.value(totals), null)
  assert.equal(KPIS.transferRate.value(totals), null)
  assert.equal(KPIS.abandonRate.value(totals), null)
  assert.equal(KPIS.handledCalls.value(totals), 0)
  assert.equal(KPIS.abandonedCalls.value(totals), 1)
})

test('routing scoring: KPI values from addStats totals feed scoreQueues', () => {
  // A: tHandle count 10, tAnswered 5 calls / 5000 ms → ASA 1000, tAbandon 1
  // B: tHandle count 30, tAnswered 10 calls / 30000 ms → ASA 3000, tAbandon 3
  // H: min 10 max 30 → A 0, B 1; S inverted: A 1, B 0; A inverted: A 1, B 0
  // A: 0 + 0.4 + 0.3 = 0.7; B: 0.3 + 0 + 0 = 0.3 → ascending B 1, A 2 of 2
  const build = (handled: number, answered: number, answerMs: number, abandoned: number) => {
    const t: MetricTotals = {}
    addStats(t, 'tHandle', { count: handled, sum: handled * 100 })
    addStats(t, 'tAnswered', { count: answered, sum: answerMs })
    addStats(t, 'tAbandon', { count: abandoned })
    return Object.fromEntries(DEFAULT_KPIS.map((name) => [name, KPIS[name].value(t)]))
  }
  const rows = scoreQueues([{ queueId: 'B', values: build(30, 10, 30000, 3) }, { queueId: 'A', values: build(10, 5, 5000, 1) }], DEFAULT_SPEC)
  checkScores(rows, [['A', 0.7, 1], ['B', 0.3, 0.5]])
  assert.equal(rows[0]!.kpis.avgSpeedOfAnswer!.value, 1000)
  assert.equal(rows[1]!.kpis.avgSpeedOfAnswer!.value, 3000)
})

test('routing query: the aggregates query ANDs an OR of queueId predicates with an OR of mediaType predicates, in Genesys\'s predicate shape', () => {
  const a = 'dda9caa0-28d0-437d-a6d5-345ba693f4f3'
  const b = 'a4bc550b-9970-431e-9036-defab953b8c0'
  const query = aggregatesQuery({
    queueIds: [a, b],
    mediaTypes: ['voice', 'chat'],
    interval: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-02T00:00:00.000Z' },
    granularity: 'PT30M',
    kpis: ['handledCalls', 'avgHandleTime', 'transferRate']
  })
  assert.deepEqual(query, {
    interval: '2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z',
    granularity: 'PT30M',
    groupBy: ['queueId'],
    filter: {
      type: 'and',
      clauses: [
        { type: 'or', predicates: [{ type: 'dimension', dimension: 'queueId', operator: 'matches', value: a }, { type: 'dimension', dimension: 'queueId', operator: 'matches', value: b }] },
        { type: 'or', predicates: [{ type: 'dimension', dimension: 'mediaType', operator: 'matches', value: 'voice' }, { type: 'dimension', dimension: 'mediaType', operator: 'matches', value: 'chat' }] }
      ]
    },
    metrics: ['tHandle', 'nTransferred']
  })
  assert.equal('timeZone' in query, false, 'absent options stay absent')
})

test('routing query: the default media types are voice only, and metrics are asked for once each', () => {
  assert.deepEqual(DEFAULT_MEDIA_TYPES, ['voice'])
  assert.deepEqual(metricsFor(['abandonedCalls', 'abandonRate', 'offeredCalls']), ['tAbandon', 'nOffered'])
})
