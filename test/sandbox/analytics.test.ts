import { test } from 'node:test'
import assert from 'node:assert/strict'
import { harness, type Harness } from './helpers.ts'
import { manualClock } from '../helpers/manual-clock.ts'
import { SANDBOX_FIXTURES } from '../../src/sandbox/index.ts'
import { queueMetrics } from '../../src/sandbox/analytics.ts'

const { queues } = SANDBOX_FIXTURES
const JOBS = '/api/v2/analytics/conversations/aggregates/jobs'
const DAY = '2026-01-01T00:00:00.000Z/2026-01-02T00:00:00.000Z'
const METRICS = ['nOffered', 'tHandle', 'tAnswered', 'tAbandon', 'nTransferred']
const STATES = ['QUEUED', 'PENDING', 'FAILED', 'CANCELLED', 'FULFILLED', 'EXPIRED']

const byQueue = (...ids: string[]) => ({ type: 'or', predicates: ids.map((value) => ({ dimension: 'queueId', value })) })
const dimension = (name: string, value: string) => ({ type: 'dimension', dimension: name, operator: 'matches', value })
/** The queues AND the media types, the shape the routing-evaluation kind sends. */
const byQueueAndMedia = (ids: string[], mediaTypes: string[]) => ({
  type: 'and',
  clauses: [
    { type: 'or', predicates: ids.map((id) => dimension('queueId', id)) },
    { type: 'or', predicates: mediaTypes.map((m) => dimension('mediaType', m)) }
  ]
})
const voiceOf = (...ids: string[]) => byQueueAndMedia(ids, ['voice'])

/** Polls the job's status until it has an outcome: a few polls with the default progress (QUEUED, PENDING, then the outcome). */
async function finished (api: Harness['api'], jobId: string) {
  for (let poll = 1; poll <= 10; poll++) {
    const r = await api('GET', `${JOBS}/${jobId}`)
    if (!['QUEUED', 'PENDING'].includes(r.body.state)) return r.body
  }
  assert.fail(`job ${jobId} had no outcome after 10 polls`)
}

test('sandbox: an aggregates job answers QUEUED to its first poll, PENDING to the second, FULFILLED from the third, with the AsyncQueryStatus fields', async (t) => {
  const clock = manualClock()
  const { api } = await harness(t, { now: clock.now, progress: { analyticsQueuedPolls: 1, analyticsPendingPolls: 1 } })
  const submit = await api('POST', JOBS, { interval: DAY, groupBy: ['queueId'], filter: byQueue(queues.support), metrics: METRICS })
  assert.equal(submit.status, 202)
  assert.deepEqual(Object.keys(submit.body), ['jobId'])
  const path = `${JOBS}/${submit.body.jobId}`

  const queued = await api('GET', path)
  assert.equal(queued.body.state, 'QUEUED')
  assert.equal(queued.body.submissionDate, new Date(clock.now()).toISOString())
  assert.ok(Date.parse(queued.body.expirationDate) > Date.parse(queued.body.submissionDate))
  assert.equal(queued.body.completionDate, undefined)
  const early = await api('GET', `${path}/results`)
  assert.equal(early.status, 400, 'no results before the job is done (and reading them is no poll)')
  assert.equal(early.body.code, 'bad.request')

  assert.equal((await api('GET', path)).body.state, 'PENDING')
  clock.advance(90_000)
  const done = (await api('GET', path)).body
  assert.equal(done.state, 'FULFILLED')
  assert.ok(STATES.includes(done.state))
  assert.equal(done.completionDate, new Date(clock.now()).toISOString(), 'completed at the poll that moved it')
  assert.equal(done.errorMessage, undefined)
  assert.equal((await api('GET', path)).body.state, 'FULFILLED', 'and it stays so')
})

test('sandbox: progress counts set how many polls each state answers: 0 skips a state, null holds it until an advance', async (t) => {
  const { sandbox, api } = await harness(t, { progress: { analyticsQueuedPolls: 2, analyticsPendingPolls: 3 } })
  const submit = async () => (await api('POST', JOBS, { interval: DAY, filter: byQueue(queues.support), metrics: ['nOffered'] })).body.jobId as string
  const polls = async (jobId: string, n: number) => {
    const states: string[] = []
    for (let i = 0; i < n; i++) states.push((await api('GET', `${JOBS}/${jobId}`)).body.state)
    return states
  }
  assert.deepEqual(await polls(await submit(), 7), ['QUEUED', 'QUEUED', 'PENDING', 'PENDING', 'PENDING', 'FULFILLED', 'FULFILLED'])

  sandbox.setProgress({ analyticsQueuedPolls: 0, analyticsPendingPolls: 0 })
  assert.deepEqual(await polls(await submit(), 1), ['FULFILLED'], 'both states skipped: the first poll answers the outcome')

  assert.equal(sandbox.setProgress({ analyticsQueuedPolls: null }).analyticsQueuedPolls, null)
  const held = await submit()
  assert.deepEqual(await polls(held, 4), ['QUEUED', 'QUEUED', 'QUEUED', 'QUEUED'], 'held: polls do not move it')
  assert.deepEqual(sandbox.advanceAnalyticsJob(held), [{ jobId: held, state: 'PENDING' }], 'an advance moves one state')
  assert.deepEqual(await polls(held, 1), ['FULFILLED'], 'PENDING takes 0 polls')
  assert.throws(() => sandbox.setProgress({ analyticsQueuedPolls: -1 }), /whole number of polls/)
  assert.throws(() => sandbox.setProgress({ analyticsQueuedMs: 5 } as never), /unknown progress setting\(s\): analyticsQueuedMs/)
})

test('sandbox: advancing aggregates jobs by hand, one job or every unfinished one, through the JS control and the admin route', async (t) => {
  const { sandbox, api } = await harness(t, { progress: { analyticsQueuedPolls: null, analyticsPendingPolls: null } })
  const submit = async (queueId: string) => (await api('POST', JOBS, { interval: DAY, filter: byQueue(queueId), metrics: ['nOffered'] })).body.jobId as string
  const [a, b, failing] = [await submit(queues.support), await submit(queues.sales), await submit(queues.failing)]
  const state = async (jobId: string) => (await api('GET', `${JOBS}/${jobId}`)).body.state as string

  assert.deepEqual(sandbox.advanceAnalyticsJob(a, 'end'), [{ jobId: a, state: 'FULFILLED' }])
  assert.equal(await state(a), 'FULFILLED')
  assert.deepEqual(sandbox.advanceAnalyticsJob(), [{ jobId: b, state: 'PENDING' }, { jobId: failing, state: 'PENDING' }], 'every job not finished')
  assert.equal(await state(b), 'PENDING', 'held: the poll does not move it')

  const admin = await fetch(`${sandbox.url}/__sandbox/analytics/jobs/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobId: failing, to: 'end' }) })
  assert.deepEqual(await admin.json(), { advanced: [{ jobId: failing, state: 'FAILED' }] })
  assert.equal(await state(failing), 'FAILED')
  assert.deepEqual(sandbox.advanceAnalyticsJob(a), [{ jobId: a, state: 'FULFILLED' }], 'a finished job stays finished')

  assert.throws(() => sandbox.advanceAnalyticsJob('00000000-0000-4000-8000-000000000000'), /no analytics job 00000000/)
  const unknown = await fetch(`${sandbox.url}/__sandbox/analytics/jobs/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: 'later' }) })
  assert.equal(unknown.status, 400)
  assert.match(((await unknown.json()) as { message: string }).message, /to must be next or end/)
})

test('sandbox: results page by cursor, pageSize groups at a time, with deterministic queue metrics', async (t) => {
  const { api } = await harness(t)
  const five = [queues.support, queues.sales, queues.billing, queues.retention, queues.technical]
  const { body: { jobId } } = await api('POST', JOBS, { interval: DAY, groupBy: ['queueId'], filter: voiceOf(...five, '00000000-0000-4000-8000-000000000000'), metrics: METRICS })
  await finished(api, jobId)

  const pages = []
  let cursor: string | undefined
  do {
    const page = await api('GET', `${JOBS}/${jobId}/results${cursor === undefined ? '' : `?cursor=${encodeURIComponent(cursor)}`}`)
    assert.equal(page.status, 200)
    pages.push(page.body)
    cursor = page.body.cursor
  } while (cursor !== undefined)
  assert.deepEqual(pages.map((p) => p.results.length), [2, 2, 1])
  const groups = pages.flatMap((p) => p.results)
  assert.deepEqual(groups.map((g) => g.group.queueId), five, 'the unknown queue has no group')

  const support = groups[0]
  assert.equal(support.data.length, 1)
  assert.equal(support.data[0].interval, DAY)
  const stats = Object.fromEntries(support.data[0].metrics.map((m: { metric: string, stats: unknown }) => [m.metric, m.stats]))
  assert.deepEqual(Object.keys(stats), METRICS)
  assert.deepEqual(stats, queueMetrics(0, 86_400_000))
  assert.deepEqual(queueMetrics(0, 86_400_000, 'voice'), queueMetrics(0, 86_400_000), 'voice is the default media type')
  // queue 0 over a day: 12 offered an hour, 1 abandoned an hour, 8 s to answer, 180 s handling.
  assert.equal(stats.nOffered.count, 288)
  assert.equal(stats.tAbandon.count, 24)
  assert.equal(stats.tAnswered.count, 264)
  assert.equal(stats.tAnswered.sum, 264 * 8000)
  assert.equal(stats.tHandle.sum, 264 * 180_000)
  assert.ok(groups[4].data[0].metrics.find((m: { metric: string }) => m.metric === 'nOffered').stats.count > stats.nOffered.count)

  const badCursor = await api('GET', `${JOBS}/${jobId}/results?cursor=bogus`)
  assert.equal(badCursor.status, 400)
  assert.equal((await api('GET', `${JOBS}/00000000-0000-4000-8000-000000000000`)).status, 404)
})

test('sandbox: granularity splits the interval, pageSize and unknown queues are honoured', async (t) => {
  const { api } = await harness(t)
  const { body: { jobId } } = await api('POST', JOBS, { interval: DAY, granularity: 'PT12H', timeZone: 'Europe/London', groupBy: ['queueId'], filter: voiceOf(queues.sales, queues.billing), metrics: ['nOffered'], pageSize: 5 })
  await finished(api, jobId)
  const page = (await api('GET', `${JOBS}/${jobId}/results`)).body
  assert.equal(page.cursor, undefined)
  assert.equal(page.results.length, 2)
  assert.deepEqual(page.results[0].data.map((d: { interval: string }) => d.interval), ['2026-01-01T00:00:00.000Z/2026-01-01T12:00:00.000Z', '2026-01-01T12:00:00.000Z/2026-01-02T00:00:00.000Z'])
  assert.deepEqual(page.results[0].data[0].metrics, [{ metric: 'nOffered', qualifier: null, stats: { count: 192 } }])

  const nobody = (await api('POST', JOBS, { interval: DAY, groupBy: ['queueId'], filter: byQueue('11111111-1111-4111-8111-111111111111'), metrics: ['nOffered'] })).body.jobId
  await finished(api, nobody)
  assert.deepEqual((await api('GET', `${JOBS}/${nobody}/results`)).body, { results: [] })
})

test('sandbox: jobs naming the failing or expiring queue end FAILED or EXPIRED with errorMessage', async (t) => {
  const { api } = await harness(t)
  const failing = (await api('POST', JOBS, { interval: DAY, groupBy: ['queueId'], filter: byQueue(queues.support, queues.failing), metrics: METRICS })).body.jobId
  const expiring = (await api('POST', JOBS, { interval: DAY, groupBy: ['queueId'], filter: byQueue(queues.expiring), metrics: METRICS })).body.jobId
  const failed = await finished(api, failing)
  assert.equal(failed.state, 'FAILED')
  assert.equal(typeof failed.errorMessage, 'string')
  const expired = await finished(api, expiring)
  assert.equal(expired.state, 'EXPIRED')
  assert.equal(typeof expired.errorMessage, 'string')
  assert.equal((await api('GET', `${JOBS}/${failing}/results`)).status, 400)
  assert.equal((await api('GET', `${JOBS}/${expiring}/results`)).status, 400)
})

test('sandbox: a job query without interval or metrics, or with a malformed interval, is a 400', async (t) => {
  const { api } = await harness(t)
  const cases = [
    { metrics: METRICS },
    { interval: DAY },
    { interval: DAY, metrics: [] },
    { interval: '2026-01-01', metrics: METRICS },
    { interval: '2026-01-02T00:00:00Z/2026-01-01T00:00:00Z', metrics: METRICS },
    { interval: DAY, metrics: METRICS, granularity: 'PT10M' },
    { interval: DAY, metrics: METRICS, timeZone: 'Mars/Olympus' }
  ]
  for (const body of cases) {
    const answer = await api('POST', JOBS, body)
    assert.equal(answer.status, 400, JSON.stringify(body))
    assert.equal(answer.body.code, 'bad.request')
    assert.equal(answer.body.status, 400)
  }
  const bad = await api('POST', JOBS, '{not json')
  assert.equal(bad.status, 400)
  assert.equal(bad.body.code, 'bad.request')
})

async function resultsOf (api: Harness['api'], query: Record<string, unknown>) {
  const submit = await api('POST', JOBS, { pageSize: 1000, ...query })
  assert.equal(submit.status, 202, JSON.stringify(submit.body))
  assert.equal((await finished(api, submit.body.jobId)).state, 'FULFILLED')
  const page = await api('GET', `${JOBS}/${submit.body.jobId}/results`)
  assert.equal(page.body.cursor, undefined)
  return page.body.results as Array<{ group: Record<string, string>, data: Array<{ interval: string, metrics: Array<{ metric: string, stats: { count: number, sum?: number } }> }> }>
}
const statsIn = (slice: { metrics: Array<{ metric: string, stats: { count: number, sum?: number } }> }) => Object.fromEntries(slice.metrics.map((m) => [m.metric, m.stats]))
const DAY_MS = 86_400_000

test('sandbox: the model\'s refusals (missing or bad filter.type, unknown metric, unknown groupBy dimension, bad mediaType value, bad granularity) answer 400 with Genesys\'s ErrorBody naming the field', async (t) => {
  const { api } = await harness(t)
  const base = { interval: DAY, groupBy: ['queueId'], metrics: ['nOffered'], filter: voiceOf(queues.support) }
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['missing filter.type', { filter: { predicates: [dimension('queueId', queues.support)] } }, 'filter.type'],
    ['bad filter.type', { filter: { type: 'xor', predicates: [dimension('queueId', queues.support)] } }, 'filter.type'],
    ['missing clause type', { filter: { type: 'and', clauses: [{ predicates: [dimension('queueId', queues.support)] }] } }, 'filter.clauses[0].type'],
    ['bad clause type', { filter: { type: 'and', clauses: [{ type: 'nor', predicates: [dimension('queueId', queues.support)] }] } }, 'filter.clauses[0].type'],
    ['clause without predicates', { filter: { type: 'and', clauses: [{ type: 'or' }] } }, 'filter.clauses[0].predicates'],
    ['clauses nested in a clause', { filter: { type: 'and', clauses: [{ type: 'or', predicates: [dimension('queueId', queues.support)], clauses: [] }] } }, 'filter.clauses[0].clauses'],
    ['empty filter', { filter: { type: 'and' } }, 'filter'],
    ['bad predicate type', { filter: { type: 'or', predicates: [{ type: 'column', dimension: 'queueId', value: queues.support }] } }, 'filter.predicates[0].type'],
    ['unknown predicate dimension', { filter: { type: 'or', predicates: [dimension('queueName', 'Support')] } }, 'filter.predicates[0].dimension'],
    ['predicate without dimension', { filter: { type: 'or', predicates: [{ type: 'dimension', value: queues.support }] } }, 'filter.predicates[0].dimension'],
    ['bad operator', { filter: { type: 'or', predicates: [{ dimension: 'queueId', operator: 'equals', value: queues.support }] } }, 'filter.predicates[0].operator'],
    ['matches without a value', { filter: { type: 'or', predicates: [{ dimension: 'queueId', operator: 'matches' }] } }, 'filter.predicates[0].value'],
    ['bad mediaType value', { filter: byQueueAndMedia([queues.support], ['voice', 'phone']) }, 'filter.clauses[1].predicates[1].value'],
    ['capitalised mediaType value', { filter: { type: 'or', predicates: [dimension('mediaType', 'Voice')] } }, 'filter.predicates[0].value'],
    ['unknown metric', { metrics: ['nOffered', 'nCalls'] }, 'metrics[1]'],
    ['unknown groupBy dimension', { groupBy: ['queueId', 'queueName'] }, 'groupBy[1]'],
    ['granularity not a duration', { granularity: 'hourly' }, 'granularity'],
    ['granularity with a fraction', { granularity: 'PT0.5H' }, 'granularity'],
    ['granularity under 15 minutes', { granularity: 'PT5M' }, 'granularity'],
    ['granularity not a multiple of 15 minutes', { granularity: 'PT40M' }, 'granularity'],
    ['granularity of zero', { granularity: 'PT0M' }, 'granularity'],
    ['negative granularity', { granularity: '-P1D' }, 'granularity']
  ]
  for (const [name, change, field] of cases) {
    const answer = await api('POST', JOBS, { ...base, ...change })
    assert.equal(answer.status, 400, `${name}: ${JSON.stringify(answer.body)}`)
    // ErrorBody (reference §9): message, code, status, contextId, details[].fieldName.
    assert.equal(answer.body.code, 'bad.request', name)
    assert.equal(answer.body.status, 400, name)
    assert.equal(typeof answer.body.contextId, 'string', name)
    assert.equal(answer.body.contextId, answer.headers.get('inin-correlation-id'), name)
    assert.deepEqual(answer.body.details, [{ fieldName: field }], name)
    assert.ok(answer.body.message.includes(field), `${name}: the message names ${field}: ${answer.body.message}`)
  }
  const why = (await api('POST', JOBS, { ...base, granularity: 'PT5M' })).body.message
  assert.match(why, /15-minute/, 'a refused granularity says why')
  const mediaWhy = (await api('POST', JOBS, { ...base, filter: byQueueAndMedia([queues.support], ['phone']) })).body.message
  assert.match(mediaWhy, /voice, chat, email/, 'a refused mediaType lists the values')
})

test('sandbox: the query model\'s accepted forms: predicates with or without type and operator, exists, every granularity PT15M, PT30M, PT1H, P1D, P7D, P1M', async (t) => {
  const { api } = await harness(t)
  const loose = await resultsOf(api, { interval: DAY, groupBy: ['queueId'], metrics: ['nOffered'], filter: { type: 'and', predicates: [{ dimension: 'queueId', value: queues.support }, { type: 'dimension', dimension: 'mediaType', operator: 'exists' }] } })
  assert.deepEqual(loose.map((g) => g.group), [{ queueId: queues.support }])
  const any = await resultsOf(api, { interval: DAY, metrics: ['nOffered', 'tTalk', 'tAcw', 'nConnected', 'tWait'], filter: byQueue(queues.support) })
  assert.deepEqual(any[0]!.data[0]!.metrics.map((m) => m.metric), ['nOffered'], 'valid metrics the sandbox has no data for are left out, as Genesys leaves out empty metrics')

  const month = '2026-01-01T00:00:00.000Z/2026-03-01T00:00:00.000Z'
  const granularities: Array<[string, string, string[]]> = [
    ['PT15M', DAY, ['2026-01-01T00:00:00.000Z', '2026-01-01T00:15:00.000Z']],
    ['PT30M', DAY, ['2026-01-01T00:00:00.000Z', '2026-01-01T00:30:00.000Z']],
    ['PT1H', DAY, ['2026-01-01T00:00:00.000Z', '2026-01-01T01:00:00.000Z']],
    ['P1D', '2026-01-01T00:00:00.000Z/2026-01-03T00:00:00.000Z', ['2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z']],
    ['P7D', '2026-01-01T00:00:00.000Z/2026-01-15T00:00:00.000Z', ['2026-01-01T00:00:00.000Z', '2026-01-08T00:00:00.000Z']],
    ['P1M', month, ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z']]
  ]
  const counts: Record<string, number> = { PT15M: 96, PT30M: 48, PT1H: 24, P1D: 2, P7D: 2, P1M: 2 }
  for (const [granularity, interval, starts] of granularities) {
    const [group] = await resultsOf(api, { interval, granularity, groupBy: ['queueId'], metrics: ['nOffered'], filter: voiceOf(queues.technical) })
    assert.equal(group!.data.length, counts[granularity], granularity)
    assert.deepEqual(group!.data.slice(0, 2).map((d) => d.interval.split('/')[0]), starts, granularity)
  }
  const [byMonth] = await resultsOf(api, { interval: month, granularity: 'P1M', groupBy: ['queueId'], metrics: ['nOffered'], filter: voiceOf(queues.support) })
  assert.deepEqual(byMonth!.data.map((d) => d.interval), ['2026-01-01T00:00:00.000Z/2026-02-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z/2026-03-01T00:00:00.000Z'])
  assert.deepEqual(byMonth!.data.map((d) => statsIn(d).nOffered!.count), [queueMetrics(0, 31 * DAY_MS).nOffered!.count, queueMetrics(0, 28 * DAY_MS).nOffered!.count], 'calendar months of 31 and 28 days')
})

test('sandbox: chat and email conversations are counted without a mediaType predicate, and a voice-only query counts voice only', async (t) => {
  const { api } = await harness(t)
  const two = [queues.support, queues.billing]
  const all = await resultsOf(api, { interval: DAY, groupBy: ['queueId'], metrics: METRICS, filter: byQueue(...two) })
  const voice = await resultsOf(api, { interval: DAY, groupBy: ['queueId'], metrics: METRICS, filter: voiceOf(...two) })
  const chatAndEmail = await resultsOf(api, { interval: DAY, groupBy: ['queueId'], metrics: METRICS, filter: byQueueAndMedia(two, ['chat', 'email']) })
  for (const [i, index] of [0, 2].entries()) {
    const media = (['voice', 'chat', 'email'] as const).map((m) => queueMetrics(index, DAY_MS, m))
    const sum = (metric: string, of: typeof media) => of.reduce((n, m) => n + m[metric]!.count, 0)
    assert.ok(media[1]!.nOffered!.count > 0 && media[2]!.nOffered!.count > 0, 'the queue has chats and emails')
    assert.equal(statsIn(voice[i]!.data[0]!).nOffered!.count, media[0]!.nOffered!.count)
    assert.equal(statsIn(voice[i]!.data[0]!).tHandle!.count, media[0]!.tHandle!.count)
    for (const metric of ['nOffered', 'tHandle', 'tAnswered', 'tAbandon', 'nTransferred']) {
      // A metric with no data in a group is left out of it, as Genesys does: count 0.
      assert.equal(statsIn(all[i]!.data[0]!)[metric]?.count ?? 0, sum(metric, media), `${metric}: every media type without a predicate`)
      assert.equal(statsIn(chatAndEmail[i]!.data[0]!)[metric]?.count ?? 0, sum(metric, media.slice(1)), `${metric}: chat + email`)
    }
    assert.equal(statsIn(all[i]!.data[0]!).tHandle!.sum, media.reduce((n, m) => n + m.tHandle!.sum!, 0))
  }
  const callbacks = await resultsOf(api, { interval: DAY, groupBy: ['queueId'], metrics: METRICS, filter: byQueueAndMedia(two, ['callback']) })
  assert.deepEqual(callbacks, [], 'the sandbox has no callbacks')
})

test('sandbox: groupBy mediaType splits the groups by media type', async (t) => {
  const { api } = await harness(t)
  const groups = await resultsOf(api, { interval: DAY, groupBy: ['queueId', 'mediaType'], metrics: ['nOffered'], filter: byQueue(queues.support, queues.sales) })
  assert.deepEqual(groups.map((g) => g.group), [
    { queueId: queues.support, mediaType: 'voice' }, { queueId: queues.support, mediaType: 'chat' }, { queueId: queues.support, mediaType: 'email' },
    { queueId: queues.sales, mediaType: 'voice' }, { queueId: queues.sales, mediaType: 'chat' }, { queueId: queues.sales, mediaType: 'email' }
  ])
  assert.deepEqual(groups.map((g) => statsIn(g.data[0]!).nOffered!.count),
    [0, 1].flatMap((i) => (['voice', 'chat', 'email'] as const).map((m) => queueMetrics(i, DAY_MS, m).nOffered!.count)))
  const byMedia = await resultsOf(api, { interval: DAY, groupBy: ['mediaType'], metrics: ['nOffered'], filter: byQueueAndMedia([queues.support, queues.sales], ['chat', 'email']) })
  assert.deepEqual(byMedia.map((g) => [g.group, statsIn(g.data[0]!).nOffered!.count]), [
    [{ mediaType: 'chat' }, queueMetrics(0, DAY_MS, 'chat').nOffered!.count + queueMetrics(1, DAY_MS, 'chat').nOffered!.count],
    [{ mediaType: 'email' }, queueMetrics(0, DAY_MS, 'email').nOffered!.count + queueMetrics(1, DAY_MS, 'email').nOffered!.count]
  ])
})

test('sandbox: stats keep every aggregates query body received, refused ones too', async (t) => {
  const { api, sandbox } = await harness(t)
  const accepted = { interval: DAY, metrics: ['nOffered'], filter: voiceOf(queues.support) }
  const refused = { interval: DAY, metrics: ['nCalls'] }
  assert.equal((await api('POST', JOBS, accepted)).status, 202)
  assert.equal((await api('POST', JOBS, refused)).status, 400)
  assert.deepEqual(sandbox.stats().analyticsQueries, [accepted, refused])
  sandbox.resetStats()
  assert.deepEqual(sandbox.stats().analyticsQueries, [])
})
