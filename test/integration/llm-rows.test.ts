// Every row of an LLM evaluation (issue 15): read page by page and filtered by outcome, exported as
// CSV and JSON Lines, errors counted apart from mismatches, and two runs of one dataset compared.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { parse } from 'csv-parse/sync'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { api, eventually, type RunningService } from '../helpers/service.ts'
import { startGenesysService } from '../helpers/genesys-env.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'

checkLogsForSecretsAfterAll()
let sandbox: Sandbox
let svc: RunningService
let stop: () => Promise<void>
const { llm, llmVariant } = SANDBOX_FIXTURES.actions

before(async () => {
  ({ sandbox, svc, stop } = await startGenesysService({ progress: { evaluationQueuedPolls: 1, evaluationRunningPolls: 1 } }))
})
after(async () => { await stop() })

const reverse = (s: string) => s.split(/\s+/).filter(Boolean).reverse().join(' ')
async function run (body: Record<string, unknown>) {
  const res = await api(svc.url, 'POST', '/v1/jobs/llm-evaluation', body)
  assert.equal(res.status, 202, JSON.stringify(res.body))
  return (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=60`)).body
}
async function text (path: string) {
  const res = await fetch(svc.url + path)
  return { status: res.status, type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition'), body: await res.text() }
}

/**
 * 200 rows, planted by hand: rows i % 10 = 3 carry the word BLOCK, which the sandbox models refuse
 * (an action error: no output); rows i % 10 = 7 expect an answer the model never gives (a
 * mismatch); every other row expects the model's answer, the prompt's words reversed (a match).
 * So 20 errors, 20 mismatches, 160 matches: errorRate 20/200 = 0.1, accuracy 160/180. Rows
 * i % 50 = 0 carry an e-mail address, which masking turns into [EMAIL] before it is sent.
 */
const EMAIL = 'ada.lovelace@example.com'
trackSecret(EMAIL)
const plantedErrors = Array.from({ length: 200 }, (_, i) => i).filter((i) => i % 10 === 3)
const plantedMismatches = Array.from({ length: 200 }, (_, i) => i).filter((i) => i % 10 === 7)
function planted () {
  return Array.from({ length: 200 }, (_, i) => {
    const prompt = i % 10 === 3 ? `row ${i} BLOCK this one` : i % 50 === 0 ? `row ${i} mail ${EMAIL} now` : `row ${i} where is my order`
    return { prompt, expectedOutput: i % 10 === 7 ? 'an answer the model never gives' : reverse(i % 50 === 0 ? `row ${i} mail [EMAIL] now` : prompt) }
  })
}

let plantedJob: any

test('items: a 200-row evaluation with planted mismatches and errors lists all 200 rows across pages, outcome=mismatch exactly the planted ones, errorRate matches', async () => {
  plantedJob = await run({
    datasetMatrix: planted(),
    privacyMasking: { enabled: true, patterns: ['EMAIL'] },
    engine: { type: 'data-action', actionId: llm, concurrency: 5 }
  })
  assert.equal(plantedJob.status, 'succeeded', JSON.stringify(plantedJob.error))
  const m = plantedJob.result.metrics
  assert.deepEqual([m.rows, m.completedRows, m.matchedRows, m.mismatchedRows, m.failedRows], [200, 200, 160, 20, 20])
  assert.equal(m.errorRate, 0.1, 'the 20 planted errors of 200 rows, counted apart from mismatches')
  assert.equal(m.accuracy, 160 / 180, 'accuracy over the 180 rows that produced an output')
  assert.equal(plantedJob.result.accuracyRate, 160 / 180)
  assert.equal(plantedJob.result.partial, false)

  // Every row, 30 at a time.
  const seen: any[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const page = await api(svc.url, 'GET', `/v1/jobs/${plantedJob.id}/items?limit=30${cursor === null ? '' : `&cursor=${cursor}`}`)
    assert.equal(page.status, 200, JSON.stringify(page.body))
    assert.deepEqual(page.body.counts, { match: 160, mismatch: 20, error: 20 })
    assert.equal(page.body.total, 200)
    seen.push(...page.body.items)
    cursor = page.body.nextCursor
    pages++
  } while (cursor !== null)
  assert.equal(pages, 7)
  assert.deepEqual(seen.map((r) => r.index), Array.from({ length: 200 }, (_, i) => i), 'all 200 rows, each once, in order')
  const row0 = seen[0]
  assert.equal(row0.prompt, 'row 0 mail [EMAIL] now', 'the prompt as sent: masked')
  assert.deepEqual([row0.outcome, row0.match, row0.output, row0.error], ['match', true, 'now [EMAIL] mail 0 row', null])
  assert.equal(typeof row0.latencyMs, 'number')
  const row3 = seen[3]
  assert.deepEqual([row3.outcome, row3.match, row3.output], ['error', null, null])
  assert.match(row3.error.message, /content filter refused the prompt/)
  assert.equal(row3.error.code, 'GENESYS_400')
  assert.ok(!JSON.stringify(seen).includes(EMAIL), 'no row shows the planted e-mail')

  const mismatches = await api(svc.url, 'GET', `/v1/jobs/${plantedJob.id}/items?outcome=mismatch&limit=1000`)
  assert.deepEqual(mismatches.body.items.map((r: { index: number }) => r.index), plantedMismatches)
  assert.ok(mismatches.body.items.every((r: { match: boolean, expectedOutput: string }) => r.match === false && r.expectedOutput === 'an answer the model never gives'))
  const errors = await api(svc.url, 'GET', `/v1/jobs/${plantedJob.id}/items?outcome=error&limit=1000`)
  assert.deepEqual(errors.body.items.map((r: { index: number }) => r.index), plantedErrors)

  const badOutcome = await api(svc.url, 'GET', `/v1/jobs/${plantedJob.id}/items?outcome=wrong`)
  assert.equal(badOutcome.status, 400)
  assert.equal(badOutcome.body.code, 'OUTCOME_UNKNOWN')
  assert.match(badOutcome.body.message, /match, mismatch, error/)
  const badCursor = await api(svc.url, 'GET', `/v1/jobs/${plantedJob.id}/items?cursor=abc`)
  assert.equal(badCursor.body.code, 'INVALID_CURSOR')
})

test('items: ?format=csv parses with a CSV parser into 201 lines with the header; ?format=jsonl holds the same 200 rows', async () => {
  const csv = await text(`/v1/jobs/${plantedJob.id}/items?format=csv`)
  assert.equal(csv.status, 200)
  assert.match(csv.type ?? '', /^text\/csv/)
  assert.match(csv.disposition ?? '', /attachment; filename="job-.*-items\.csv"/)
  const records = parse(csv.body) as string[][]
  assert.equal(records.length, 201, 'a header and 200 rows')
  const header = records[0]!
  assert.deepEqual(header.slice(0, 6), ['index', 'outcome', 'match', 'prompt', 'expectedOutput', 'output'])
  const rows = records.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])))
  assert.deepEqual(rows.map((r) => Number(r.index)), Array.from({ length: 200 }, (_, i) => i))
  assert.deepEqual(rows.filter((r) => r.outcome === 'mismatch').map((r) => Number(r.index)), plantedMismatches)
  assert.deepEqual(rows.filter((r) => r.outcome === 'error').map((r) => Number(r.index)), plantedErrors)
  assert.equal(rows[3]!.errorCode, 'GENESYS_400')
  assert.equal(rows[0]!.match, 'true')
  assert.equal(rows[3]!.output, '', 'no output is an empty cell')

  const onlyErrors = parse((await text(`/v1/jobs/${plantedJob.id}/items?format=csv&outcome=error`)).body) as string[][]
  assert.equal(onlyErrors.length, 21)

  const jsonl = await text(`/v1/jobs/${plantedJob.id}/items?format=jsonl`)
  assert.match(jsonl.type ?? '', /^application\/x-ndjson/)
  const lines = jsonl.body.trimEnd().split('\n').map((l) => JSON.parse(l) as { index: number, outcome: string })
  assert.equal(lines.length, 200)
  assert.deepEqual(lines.filter((l) => l.outcome === 'mismatch').map((l) => l.index), plantedMismatches)
})

test('items: an all-error run ends failed with ALL_ROWS_FAILED and keeps its (all-error) metrics', async () => {
  const job = await run({
    datasetMatrix: Array.from({ length: 12 }, (_, i) => ({ prompt: `row ${i} BLOCK`, expectedOutput: 'x' })),
    engine: { type: 'data-action', actionId: llm }
  })
  assert.equal(job.status, 'failed')
  assert.equal(job.error.code, 'ALL_ROWS_FAILED')
  assert.match(job.error.message, /Every one of the 12 rows failed/)
  assert.match(job.error.message, /items\?outcome=error/)
  assert.equal(job.result.metrics.errorRate, 1)
  assert.equal(job.result.metrics.failedRows, 12)
  assert.equal(job.result.metrics.accuracy, null, 'no row produced an output: no accuracy, not 0')
  assert.equal(job.result.partial, false)
  const errors = await api(svc.url, 'GET', `/v1/jobs/${job.id}/items?outcome=error`)
  assert.equal(errors.body.items.length, 12)
})

test('items: a gateway-engine evaluation says it has no rows, and why; a kind without rows says which kinds have them', async () => {
  const evaluationId = crypto.randomUUID()
  const res = await api(svc.url, 'POST', '/v1/jobs/llm-evaluation', { evaluationId, datasetMatrix: [{ prompt: 'a b', expectedOutput: 'b a' }], engine: { type: 'gateway', pollIntervalMs: 100 } })
  const job = (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=60`)).body
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
  const items = await api(svc.url, 'GET', `/v1/jobs/${job.id}/items`)
  assert.equal(items.status, 409)
  assert.equal(items.body.code, 'ITEMS_NOT_AVAILABLE')
  assert.match(items.body.message, /LLM Gateway engine, whose API reports aggregate metrics only/)
  assert.match(items.body.message, /data-action engine/)
  const csv = await api(svc.url, 'GET', `/v1/jobs/${job.id}/items?format=csv`)
  assert.equal(csv.status, 409, 'the export says so too, before any CSV')

  const script = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [] })
  const none = await api(svc.url, 'GET', `/v1/jobs/${script.body.id}/items`)
  assert.equal(none.status, 409)
  assert.match(none.body.message, /only llm-evaluation jobs do/)
})

/**
 * Two runs of one dataset against two sandbox models: `llm` answers every prompt with its words
 * reversed; `llmVariant` does the same except that it repeats a prompt containing the word `echo`
 * unchanged. So, by hand: rows i % 8 = 2 (an echo prompt expecting the reversed answer) match with
 * llm and not with the variant; rows i % 8 = 5 (an echo prompt expecting itself) the other way
 * round; rows i % 8 = 6 fail in both (BLOCK); rows i % 8 = 7 match in neither. Only the first two
 * sets flip.
 */
function comparedDataset () {
  return Array.from({ length: 40 }, (_, i) => {
    if (i % 8 === 2) return { prompt: `echo row ${i} please`, expectedOutput: reverse(`echo row ${i} please`) }
    if (i % 8 === 5) return { prompt: `echo row ${i} please`, expectedOutput: `echo row ${i} please` }
    if (i % 8 === 6) return { prompt: `row ${i} BLOCK`, expectedOutput: 'x' }
    if (i % 8 === 7) return { prompt: `row ${i} something`, expectedOutput: 'never this' }
    return { prompt: `row ${i} plain words`, expectedOutput: reverse(`row ${i} plain words`) }
  })
}
const regressed = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 8 === 2)
const improved = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 8 === 5)

test('compare: two runs against sandbox models that differ on known rows → exactly those flips, with metric deltas, paged and as CSV', async () => {
  const a = await run({ datasetMatrix: comparedDataset(), engine: { type: 'data-action', actionId: llm, concurrency: 4 } })
  const b = await run({ datasetMatrix: comparedDataset(), engine: { type: 'data-action', actionId: llmVariant, concurrency: 4 } })
  assert.equal(a.status, 'succeeded', JSON.stringify(a.error))
  assert.equal(b.status, 'succeeded', JSON.stringify(b.error))

  const flips: any[] = []
  let cursor: string | null = null
  let first: any
  do {
    const page = await api(svc.url, 'GET', `/v1/jobs/${a.id}/compare/${b.id}?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`)
    assert.equal(page.status, 200, JSON.stringify(page.body))
    first ??= page.body
    flips.push(...page.body.items)
    cursor = page.body.nextCursor
  } while (cursor !== null)
  assert.deepEqual(flips.map((f) => f.index), [...regressed, ...improved].sort((x, y) => x - y), 'exactly the planted flips, in row order')
  for (const f of flips) {
    const expected = regressed.includes(f.index) ? ['match', 'mismatch'] : ['mismatch', 'match']
    assert.deepEqual([f.outcome, f.otherOutcome], expected, `row ${f.index}`)
    assert.equal(f.item.prompt, `echo row ${f.index} please`)
    assert.equal(f.item.output, reverse(f.item.prompt))
    assert.equal(f.otherItem.output, f.item.prompt, 'the variant repeated it')
  }
  // By hand: 40 rows; 5 error in both (i % 8 = 6); llm matches rows 0,1,2,3,4 of each 8 (25 of 35 answered),
  // the variant rows 0,1,3,4,5 (also 25 of 35): accuracy equal, delta 0; error rate 5/40 in both.
  assert.deepEqual(first.figures.accuracy, { this: 25 / 35, other: 25 / 35, delta: 0 })
  assert.deepEqual(first.figures.errorRate, { this: 5 / 40, other: 5 / 40, delta: 0 })
  assert.deepEqual(first.figures.completedRows, { this: 40, other: 40, delta: 0 })
  for (const name of ['latencyP50Ms', 'latencyP95Ms']) {
    const f = first.figures[name]
    assert.ok(typeof f.this === 'number' && typeof f.other === 'number' && Math.abs(f.delta - (f.other - f.this)) < 1e-6, `${name}: ${JSON.stringify(f)}`)
  }
  assert.deepEqual(first.figures.hallucination_rate, { this: null, other: null, delta: null }, 'no judge: not measured, not 0')
  assert.deepEqual(first.outcomeChanges, [{ from: 'match', to: 'mismatch', count: 5 }, { from: 'mismatch', to: 'match', count: 5 }])

  const back = await api(svc.url, 'GET', `/v1/jobs/${b.id}/compare/${a.id}?limit=100`)
  assert.deepEqual(back.body.items.filter((f: any) => f.outcome === 'match').map((f: any) => f.index), improved, 'seen from the other run, the directions swap')

  const csv = await text(`/v1/jobs/${a.id}/compare/${b.id}?format=csv`)
  assert.equal(csv.status, 200)
  const records = parse(csv.body, { columns: true }) as Array<Record<string, string>>
  assert.deepEqual(records.map((r) => Number(r.index)), flips.map((f) => f.index))
  assert.deepEqual(Object.keys(records[0]!), ['index', 'prompt', 'expectedOutput', 'outcome', 'output', 'otherOutcome', 'otherOutput', 'otherExpectedOutput'])
  assert.equal(records[0]!.outcome, 'match')
  assert.equal(records[0]!.otherOutcome, 'mismatch')
})

test('compare: two runs of different datasets are a 409 that says why; a gateway run has no rows to compare', async () => {
  const base = comparedDataset().slice(0, 8)
  const a = await run({ datasetMatrix: base, engine: { type: 'data-action', actionId: llm } })
  const changed = base.map((r, i) => (i === 6 ? { ...r, prompt: `${r.prompt} changed` } : r))
  const b = await run({ datasetMatrix: changed, engine: { type: 'data-action', actionId: llm } })
  const c = await run({ datasetMatrix: base.slice(0, 7), engine: { type: 'data-action', actionId: llm } })
  const differentPrompt = await api(svc.url, 'GET', `/v1/jobs/${a.id}/compare/${b.id}`)
  assert.equal(differentPrompt.status, 409)
  assert.equal(differentPrompt.body.code, 'RUNS_NOT_COMPARABLE')
  assert.match(differentPrompt.body.message, /the prompt of row 6 is not the same text in both runs/)
  const fewerRows = await api(svc.url, 'GET', `/v1/jobs/${a.id}/compare/${c.id}`)
  assert.match(fewerRows.body.message, /this run has 8 rows, the other 7/)
  const csv = await api(svc.url, 'GET', `/v1/jobs/${a.id}/compare/${c.id}?format=csv`)
  assert.equal(csv.status, 409)

  const gateway = await run({ datasetMatrix: base, engine: { type: 'gateway', pollIntervalMs: 100 } })
  const noRows = await api(svc.url, 'GET', `/v1/jobs/${a.id}/compare/${gateway.id}`)
  assert.equal(noRows.status, 409)
  assert.equal(noRows.body.code, 'ITEMS_NOT_AVAILABLE')
  assert.match(noRows.body.message, /aggregate metrics only/)

  const script = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [] })
  const otherKind = await api(svc.url, 'GET', `/v1/jobs/${a.id}/compare/${script.body.id}`)
  assert.equal(otherKind.status, 409)
  const missing = await api(svc.url, 'GET', `/v1/jobs/${a.id}/compare/00000000-0000-4000-8000-000000000000`)
  assert.equal(missing.status, 404)
  assert.equal(missing.body.code, 'JOB_NOT_FOUND')
})

test('items: rows are listed while the job still runs, and an item saved before outcomes were recorded gets its outcome when read', async () => {
  // Hold the rows at the sandbox until three are in flight: the job runs, two rows at a time, and waits.
  sandbox.holdExecutions(llm, 3)
  const res = await api(svc.url, 'POST', '/v1/jobs/llm-evaluation', { datasetMatrix: [{ prompt: 'a b', expectedOutput: 'b a' }, { prompt: 'c d', expectedOutput: 'no' }, { prompt: 'e f', expectedOutput: 'f e' }], engine: { type: 'data-action', actionId: llm, concurrency: 2 } })
  const running = await eventually(async () => {
    const page = await api(svc.url, 'GET', `/v1/jobs/${res.body.id}/items`)
    return page.status === 200 && page.body.status === 'running' ? page.body : undefined
  }, 30_000, 'the items of the running job')
  assert.deepEqual(running.items, [], 'nothing recorded yet while both rows wait at the sandbox')
  // A third execution releases the held ones.
  const other = await run({ datasetMatrix: [{ prompt: 'g h', expectedOutput: 'h g' }], engine: { type: 'data-action', actionId: llm } })
  assert.equal(other.status, 'succeeded')
  const done = (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=60`)).body
  assert.equal(done.status, 'succeeded')
  assert.deepEqual((await api(svc.url, 'GET', `/v1/jobs/${res.body.id}/items`)).body.counts, { match: 2, mismatch: 1, error: 0 })

  // A row as an older version saved it: no outcome column, no prompt in its data.
  await svc.app.store.transaction(async (tx) => {
    await tx.items.save(other.id, [{ index: 1, data: { output: 'x', expectedOutput: 'x', latencyMs: 1 } }])
  })
  const old = await api(svc.url, 'GET', `/v1/jobs/${other.id}/items?outcome=match`)
  assert.deepEqual(old.body.items.map((r: { index: number }) => r.index), [0, 1], 'the old row was given its outcome (match) from its data')
  assert.equal(old.body.items[1].prompt, '', 'a row beyond the dataset has no prompt to show')
})
