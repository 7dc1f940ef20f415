import type { FastifyInstance } from 'fastify'
import type { SandboxContext } from './context.ts'
import { platformError } from './errors.ts'
import { bucketEnd, checkFilter, checkGroupBy, checkMetrics, parseGranularity, type Filter, type Granularity, type Predicate, type Refusal } from './analytics-query.ts'
import { QUEUE_FIXTURES, SANDBOX_FIXTURES } from './fixtures.ts'
import { validate, type JsonSchema } from './json-schema.ts'
import { createStepper, type Stepper } from './stepper.ts'

const BASE = '/api/v2/analytics/conversations/aggregates/jobs'
const DEFAULT_PAGE_SIZE = 2
const MAX_BUCKETS = 10_000
const RESULTS_TTL_MS = 86_400_000

export type JobState = 'QUEUED' | 'PENDING' | 'FULFILLED' | 'FAILED' | 'CANCELLED' | 'EXPIRED'

interface Stats { count: number, sum?: number, max?: number, min?: number }
interface Group { group: Record<string, string>, data: Array<{ interval: string, metrics: Array<{ metric: string, stats: Stats }> }> }

/** Stepper states: 0 QUEUED, 1 PENDING, 2 the job's fate. */
const DONE = 2

interface Job {
  id: string
  submittedAt: number
  fate: 'FULFILLED' | 'FAILED' | 'EXPIRED'
  groups: Group[]
  pageSize: number
  steps: Stepper
  completedAt?: number
  cancelledAt?: number
}

const QUERY_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['interval', 'metrics'],
  properties: {
    interval: { type: 'string' },
    granularity: { type: 'string' },
    timeZone: { type: 'string' },
    groupBy: { type: 'array', items: { type: 'string' } },
    filter: { type: 'object' },
    metrics: { type: 'array', minItems: 1, items: { type: 'string' } },
    pageSize: { type: 'integer', minimum: 1, maximum: 1000 },
    flattenMultivaluedDimensions: { type: 'boolean' },
    views: { type: 'array' },
    alternateTimeDimension: { type: 'string' },
    queryType: { type: 'string' }
  }
}

interface Query { interval: string, granularity?: string, timeZone?: string, groupBy?: string[], filter?: Filter, metrics: string[], pageSize?: number }

function parseInterval (interval: string): { from: number, to: number } | undefined {
  const parts = interval.split('/')
  if (parts.length !== 2) return undefined
  const from = Date.parse(parts[0])
  const to = Date.parse(parts[1])
  return Number.isFinite(from) && Number.isFinite(to) && from < to ? { from, to } : undefined
}

function isTimeZone (zone: string): boolean {
  try {
    void new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/** The media types the sandbox has conversations of; every other mediaType value matches nothing. */
export const SANDBOX_MEDIA_TYPES = ['voice', 'chat', 'email'] as const
export type SandboxMediaType = typeof SANDBOX_MEDIA_TYPES[number]

/** One slice of the data: a queue's conversations of one media type. */
interface Slice { queueId: string, index: number, mediaType: SandboxMediaType }

/** The sandbox models the queueId and mediaType dimensions; predicates on other dimensions do not narrow. */
function holds (p: Predicate, slice: Slice): boolean {
  if ((p.type ?? 'dimension') !== 'dimension' || (p.dimension !== 'queueId' && p.dimension !== 'mediaType')) return true
  if (p.operator === 'exists') return true
  if (p.operator === 'notExists') return false
  return p.value === slice[p.dimension]
}

function combines (type: 'and' | 'or', tests: boolean[]): boolean {
  return type === 'or' ? tests.length === 0 || tests.some(Boolean) : tests.every(Boolean)
}

function matches (filter: Filter, slice: Slice): boolean {
  return combines(filter.type, [
    ...(filter.predicates ?? []).map((p) => holds(p, slice)),
    ...(filter.clauses ?? []).map((c) => combines(c.type, c.predicates.map((p) => holds(p, slice))))
  ])
}

function queueIdsNamed (filter: Filter | undefined): string[] {
  if (filter === undefined) return []
  return [...(filter.predicates ?? []), ...(filter.clauses ?? []).flatMap((c) => c.predicates)]
    .filter((p) => p.dimension === 'queueId' && typeof p.value === 'string').map((p) => p.value as string)
}

interface MediaProfile { offeredPerHour: number, abandonedPerHour: number, answerMs: number, handleMs: number, abandonMs: number, transferPercent: number }

/**
 * Queue i's conversations an hour and their average durations, per media type.
 * Voice: offered 12 + 4i, abandoned 1 + (2i mod 5), answered after 8 + 6i s, handled for
 * 180 + 30·(3i mod 5) s, (5 + 3i) % of the answered transferred. Chat: offered 5 + 2i, abandoned
 * i mod 3, answered after 30 + 10i s, handled 420 + 60·(i mod 3) s, (2 + i) % transferred. Email:
 * offered 3 + i, never abandoned, answered after 1 h + 15i min, handled 300 + 30i s, 10 % transferred.
 */
const MEDIA_PROFILES: Record<SandboxMediaType, (i: number) => MediaProfile> = {
  voice: (i) => ({ offeredPerHour: 12 + 4 * i, abandonedPerHour: 1 + (2 * i) % 5, answerMs: 8_000 + 6_000 * i, handleMs: 180_000 + 30_000 * ((3 * i) % 5), abandonMs: 20_000 + 5_000 * i, transferPercent: 5 + 3 * i }),
  chat: (i) => ({ offeredPerHour: 5 + 2 * i, abandonedPerHour: i % 3, answerMs: 30_000 + 10_000 * i, handleMs: 420_000 + 60_000 * (i % 3), abandonMs: 60_000 + 10_000 * i, transferPercent: 2 + i }),
  email: (i) => ({ offeredPerHour: 3 + i, abandonedPerHour: 0, answerMs: 3_600_000 + 900_000 * i, handleMs: 300_000 + 30_000 * i, abandonMs: 0, transferPercent: 10 })
}

/**
 * One queue's volumes and durations for one media type (voice unless named) over a bucket, a pure
 * function of the queue's position and the bucket's length so a test can recompute them.
 */
export function queueMetrics (index: number, bucketMs: number, mediaType: SandboxMediaType = 'voice'): Record<string, Stats> {
  const profile = MEDIA_PROFILES[mediaType](index)
  const hours = bucketMs / 3_600_000
  const offered = Math.round(hours * profile.offeredPerHour)
  const abandoned = Math.min(offered, Math.round(hours * profile.abandonedPerHour))
  const answered = offered - abandoned
  const duration = (count: number, avgMs: number): Stats =>
    ({ count, sum: count * avgMs, max: Math.round(avgMs * 1.5), min: Math.round(avgMs * 0.5) })
  return {
    nOffered: { count: offered },
    tAnswered: duration(answered, profile.answerMs),
    tHandle: duration(answered, profile.handleMs),
    tAbandon: duration(abandoned, profile.abandonMs),
    nTransferred: { count: Math.floor(answered * profile.transferPercent / 100) }
  }
}

/** Adds two stats; an empty one (count 0) has no min or max to contribute. */
function combine (a: Stats | undefined, b: Stats): Stats {
  if (a === undefined || a.count === 0) return { ...b }
  if (b.count === 0) return a
  const out: Stats = { count: a.count + b.count }
  if (a.sum !== undefined && b.sum !== undefined) out.sum = a.sum + b.sum
  if (a.max !== undefined && b.max !== undefined) out.max = Math.max(a.max, b.max)
  if (a.min !== undefined && b.min !== undefined) out.min = Math.min(a.min, b.min)
  return out
}

/** The buckets' [start, end) bounds, or undefined past MAX_BUCKETS. */
function bucketsOf (from: number, to: number, granularity: Granularity | undefined): Array<[number, number]> | undefined {
  if (granularity === undefined) return [[from, to]]
  const buckets: Array<[number, number]> = []
  for (let start = from; start < to; start = bucketEnd(start, granularity)) {
    if (buckets.length === MAX_BUCKETS) return undefined
    buckets.push([start, Math.min(to, bucketEnd(start, granularity))])
  }
  return buckets
}

/** Slices matching the filter, grouped by the modelled groupBy dimensions (queueId, mediaType) in queue order. */
function buildGroups (query: Query, buckets: Array<[number, number]>): Group[] {
  const filter = query.filter
  const slices = QUEUE_FIXTURES.flatMap((q) => SANDBOX_MEDIA_TYPES.map((mediaType): Slice => ({ queueId: q.id, index: q.index, mediaType })))
    .filter((slice) => filter === undefined || matches(filter, slice))
  const dimensions = (query.groupBy ?? []).filter((d): d is 'queueId' | 'mediaType' => d === 'queueId' || d === 'mediaType')
  const sets = new Map<string, { group: Record<string, string>, slices: Slice[] }>()
  for (const slice of slices) {
    const group = Object.fromEntries(dimensions.map((d) => [d, slice[d]]))
    const key = JSON.stringify(group)
    const set = sets.get(key) ?? { group, slices: [] }
    set.slices.push(slice)
    sets.set(key, set)
  }
  return [...sets.values()].map(({ group, slices: set }): Group => {
    const data: Group['data'] = []
    for (const [start, end] of buckets) {
      const totals: Record<string, Stats> = {}
      for (const slice of set) {
        for (const [metric, stats] of Object.entries(queueMetrics(slice.index, end - start, slice.mediaType))) totals[metric] = combine(totals[metric], stats)
      }
      const metrics = query.metrics
        .filter((metric) => totals[metric] !== undefined && totals[metric].count > 0)
        .map((metric) => ({ metric, qualifier: null, stats: totals[metric] }))
      if (metrics.length > 0) data.push({ interval: `${new Date(start).toISOString()}/${new Date(end).toISOString()}`, metrics })
    }
    return { group, data }
  }).filter((g) => g.data.length > 0)
}

/** The model checks after the JSON shape: what Genesys answers 400 for, naming the field. */
function refusalOf (query: Query): Refusal | undefined {
  return checkMetrics(query.metrics) ?? checkGroupBy(query.groupBy) ?? (query.filter === undefined ? undefined : checkFilter(query.filter))
}

const encodeCursor = (jobId: string, offset: number) => Buffer.from(JSON.stringify({ j: jobId, o: offset })).toString('base64url')
function decodeCursor (jobId: string, cursor: string): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { j?: unknown, o?: unknown }
    return parsed.j === jobId && Number.isInteger(parsed.o) && (parsed.o as number) >= 0 ? parsed.o as number : undefined
  } catch {
    return undefined
  }
}

/** One job moved on by an advance: where it is now. */
export interface AnalyticsAdvance { jobId: string, state: JobState }

/**
 * The aggregates jobs API. A job moves QUEUED → PENDING → its outcome on the polls of its status
 * (`ctx.progress`) or when `advance` is called; its outcome is set by the queues it names.
 */
export function createAnalytics (ctx: SandboxContext) {
  const jobs = new Map<string, Job>()

  function stateOf (job: Job): { state: JobState, completedAt?: number } {
    if (job.cancelledAt !== undefined) return { state: 'CANCELLED', completedAt: job.cancelledAt }
    if (job.steps.state === 0) return { state: 'QUEUED' }
    if (job.steps.state === 1) return { state: 'PENDING' }
    return { state: job.fate, completedAt: job.completedAt }
  }

  /** Moves one job (or, without an id, every unfinished one) a state on, or to its outcome. */
  function advance (jobId?: string, to: 'next' | 'end' = 'next'): AnalyticsAdvance[] {
    if (jobId !== undefined && !jobs.has(jobId)) throw new RangeError(`no analytics job ${jobId}`)
    const chosen = jobId === undefined ? [...jobs.values()].filter((j) => stateOf(j).completedAt === undefined) : [jobs.get(jobId)!]
    return chosen.map((job) => {
      if (job.cancelledAt === undefined) job.steps.advance(to)
      return { jobId: job.id, state: stateOf(job).state }
    })
  }

  const routes = async function (app: FastifyInstance): Promise<void> {
    app.post(BASE, async (request, reply) => {
      ctx.stats.recordAnalyticsQuery(request.body)
      const refuse = async (refusal: Refusal) => await platformError(reply, 400, 'bad.request', refusal.message, { details: [{ fieldName: refusal.field }] })
      const errors = validate(QUERY_SCHEMA, request.body)
      if (errors.length > 0) return await platformError(reply, 400, 'bad.request', errors[0].message, { details: errors.map((e) => ({ fieldName: e.path })) })
      const query = request.body as Query
      const refusal = refusalOf(query)
      if (refusal !== undefined) return await refuse(refusal)
      const interval = parseInterval(query.interval)
      if (interval === undefined) return await refuse({ field: 'interval', message: `interval '${query.interval}' is not an ISO-8601 'from/to' pair with from before to` })
      const granularity = query.granularity === undefined ? undefined : parseGranularity(query.granularity)
      if (granularity !== undefined && 'field' in granularity) return await refuse(granularity)
      const buckets = bucketsOf(interval.from, interval.to, granularity)
      if (buckets === undefined) return await refuse({ field: 'granularity', message: `granularity '${query.granularity}' splits the interval into more than ${MAX_BUCKETS} buckets` })
      if (query.timeZone !== undefined && !isTimeZone(query.timeZone)) return await refuse({ field: 'timeZone', message: `timeZone '${query.timeZone}' is not an IANA time zone` })
      const named = queueIdsNamed(query.filter)
      const fate = named.includes(SANDBOX_FIXTURES.queues.failing) ? 'FAILED' : named.includes(SANDBOX_FIXTURES.queues.expiring) ? 'EXPIRED' : 'FULFILLED'
      const job: Job = {
        id: ctx.ids.uuid(),
        submittedAt: ctx.now(),
        fate,
        groups: buildGroups(query, buckets),
        pageSize: query.pageSize ?? DEFAULT_PAGE_SIZE,
        steps: createStepper(DONE, (state) => (state === 0 ? ctx.progress.analyticsQueuedPolls : ctx.progress.analyticsPendingPolls), (state) => {
          if (state === DONE) job.completedAt = ctx.now()
        })
      }
      jobs.set(job.id, job)
      job.steps.settle()
      return await reply.code(202).send({ jobId: job.id })
    })

    app.get<{ Params: { jobId: string } }>(`${BASE}/:jobId`, async (request, reply) => {
      const job = jobs.get(request.params.jobId)
      if (job === undefined) return await platformError(reply, 404, 'not.found', `Job ${request.params.jobId} not found`, { entityId: request.params.jobId })
      if (job.cancelledAt === undefined) job.steps.poll()
      const { state, completedAt } = stateOf(job)
      const errorMessage = state === 'FAILED'
        ? 'The query failed: the sandbox was told to fail jobs that name its failing queue'
        : state === 'EXPIRED' ? 'The job results have expired' : undefined
      return {
        state,
        ...(errorMessage === undefined ? {} : { errorMessage }),
        expirationDate: new Date(state === 'EXPIRED' && completedAt !== undefined ? completedAt : job.submittedAt + RESULTS_TTL_MS).toISOString(),
        submissionDate: new Date(job.submittedAt).toISOString(),
        ...(completedAt === undefined ? {} : { completionDate: new Date(completedAt).toISOString() })
      }
    })

    app.delete<{ Params: { jobId: string } }>(`${BASE}/:jobId`, async (request, reply) => {
      const job = jobs.get(request.params.jobId)
      if (job === undefined) return await platformError(reply, 404, 'not.found', `Job ${request.params.jobId} not found`, { entityId: request.params.jobId })
      if (stateOf(job).completedAt === undefined) job.cancelledAt = ctx.now()
      return await reply.code(204).send()
    })

    app.get<{ Params: { jobId: string }, Querystring: { cursor?: string } }>(`${BASE}/:jobId/results`, async (request, reply) => {
      const job = jobs.get(request.params.jobId)
      if (job === undefined) return await platformError(reply, 404, 'not.found', `Job ${request.params.jobId} not found`, { entityId: request.params.jobId })
      const { state } = stateOf(job)
      if (state !== 'FULFILLED') return await platformError(reply, 400, 'bad.request', `Results are not available: the job is ${state}`)
      const cursor = request.query.cursor
      const offset = cursor === undefined || cursor === '' ? 0 : decodeCursor(job.id, cursor)
      if (offset === undefined) return await platformError(reply, 400, 'bad.request', 'cursor is not valid for this job', { details: [{ fieldName: 'cursor' }] })
      const next = offset + job.pageSize
      return {
        results: job.groups.slice(offset, next),
        ...(next < job.groups.length ? { cursor: encodeCursor(job.id, next) } : {})
      }
    })
  }

  return { routes, advance }
}
