import type { FastifyInstance } from 'fastify'
import type { SandboxContext } from './context.ts'
import { platformError } from './errors.ts'
import { QUEUE_FIXTURES, SANDBOX_FIXTURES } from './fixtures.ts'
import { validate, type JsonSchema } from './json-schema.ts'

const BASE = '/api/v2/analytics/conversations/aggregates/jobs'
const DEFAULT_PAGE_SIZE = 2
const MAX_BUCKETS = 10_000
const RESULTS_TTL_MS = 86_400_000

type JobState = 'QUEUED' | 'PENDING' | 'FULFILLED' | 'FAILED' | 'CANCELLED' | 'EXPIRED'

interface Predicate { dimension?: string, operator?: string, value?: string }
interface Filter { type?: string, predicates?: Predicate[], clauses?: Filter[] }
interface Stats { count: number, sum?: number, max?: number, min?: number }
interface Group { group: Record<string, string>, data: Array<{ interval: string, metrics: Array<{ metric: string, stats: Stats }> }> }

interface Job {
  id: string
  submittedAt: number
  fate: 'FULFILLED' | 'FAILED' | 'EXPIRED'
  groups: Group[]
  pageSize: number
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

/** Day/hour/minute/second ISO-8601 durations; months and years have no fixed length. */
function parseDuration (text: string): number | undefined {
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text)
  if (m === null || text === 'P' || text.endsWith('T')) return undefined
  const [w, d, h, min, s] = m.slice(1).map((v) => Number(v ?? 0))
  const ms = ((((w * 7 + d) * 24 + h) * 60 + min) * 60 + s) * 1000
  return ms > 0 ? ms : undefined
}

function isTimeZone (zone: string): boolean {
  try {
    void new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

function matches (filter: Filter, queueId: string): boolean {
  const tests = [
    ...(filter.predicates ?? []).map((p) => {
      if (p.dimension !== 'queueId') return true // the sandbox only models the queue dimension
      if (p.operator === 'exists') return true
      if (p.operator === 'notExists') return false
      return p.value === queueId
    }),
    ...(filter.clauses ?? []).map((c) => matches(c, queueId))
  ]
  return filter.type === 'or' ? tests.length === 0 || tests.some(Boolean) : tests.every(Boolean)
}

function queueIdsNamed (filter: Filter | undefined): string[] {
  if (filter === undefined) return []
  return [
    ...(filter.predicates ?? []).filter((p) => p.dimension === 'queueId' && typeof p.value === 'string').map((p) => p.value as string),
    ...(filter.clauses ?? []).flatMap(queueIdsNamed)
  ]
}

/**
 * Per-queue volumes and durations, a pure function of the queue's position and the bucket's
 * length, so a test can recompute them: queue i is offered (12 + 4i) calls an hour, abandons
 * (1 + 2i mod 5) of them, answers the rest after (8 + 6i) s on average, handles each for
 * (180 + 30·(3i mod 5)) s and transfers (5 + 3i) % of the answered ones.
 */
export function queueMetrics (index: number, bucketMs: number): Record<string, Stats> {
  const hours = bucketMs / 3_600_000
  const offered = Math.round(hours * (12 + 4 * index))
  const abandoned = Math.min(offered, Math.round(hours * (1 + (2 * index) % 5)))
  const answered = offered - abandoned
  const duration = (count: number, avgMs: number): Stats =>
    ({ count, sum: count * avgMs, max: Math.round(avgMs * 1.5), min: Math.round(avgMs * 0.5) })
  return {
    nOffered: { count: offered },
    tAnswered: duration(answered, 8_000 + 6_000 * index),
    tHandle: duration(answered, 180_000 + 30_000 * ((3 * index) % 5)),
    tAbandon: duration(abandoned, 20_000 + 5_000 * index),
    nTransferred: { count: Math.floor(answered * (5 + 3 * index) / 100) }
  }
}

function combine (a: Stats | undefined, b: Stats): Stats {
  if (a === undefined) return { ...b }
  const out: Stats = { count: a.count + b.count }
  if (a.sum !== undefined && b.sum !== undefined) out.sum = a.sum + b.sum
  if (a.max !== undefined && b.max !== undefined) out.max = Math.max(a.max, b.max)
  if (a.min !== undefined && b.min !== undefined) out.min = Math.min(a.min, b.min)
  return out
}

function buildGroups (query: Query, from: number, to: number, bucketMs: number): Group[] {
  const filter = query.filter
  const queues = QUEUE_FIXTURES.filter((q) => filter === undefined || matches(filter, q.id))
  const groupBy = query.groupBy ?? []
  const perQueue = groupBy.includes('queueId')
  const extra: Record<string, string> = groupBy.includes('mediaType') ? { mediaType: 'voice' } : {}
  const sets = perQueue ? queues.map((q) => [q]) : queues.length > 0 ? [queues] : []
  return sets.map((set): Group => {
    const data: Group['data'] = []
    for (let start = from; start < to; start += bucketMs) {
      const end = Math.min(to, start + bucketMs)
      const totals: Record<string, Stats> = {}
      for (const queue of set) {
        for (const [metric, stats] of Object.entries(queueMetrics(queue.index, end - start))) totals[metric] = combine(totals[metric], stats)
      }
      const metrics = query.metrics
        .filter((metric) => totals[metric] !== undefined && totals[metric].count > 0)
        .map((metric) => ({ metric, qualifier: null, stats: totals[metric] }))
      if (metrics.length > 0) data.push({ interval: `${new Date(start).toISOString()}/${new Date(end).toISOString()}`, metrics })
    }
    const group: Record<string, string> = perQueue ? { queueId: set[0].id, ...extra } : { ...extra }
    return { group, data }
  }).filter((g) => g.data.length > 0)
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

export function analyticsRoutes (ctx: SandboxContext) {
  const jobs = new Map<string, Job>()
  const { analyticsQueuedMs, analyticsPendingMs } = ctx.timing

  function stateOf (job: Job, now: number): { state: JobState, completedAt?: number } {
    if (job.cancelledAt !== undefined) return { state: 'CANCELLED', completedAt: job.cancelledAt }
    const doneAt = job.submittedAt + analyticsQueuedMs + analyticsPendingMs
    if (now < job.submittedAt + analyticsQueuedMs) return { state: 'QUEUED' }
    if (now < doneAt) return { state: 'PENDING' }
    return { state: job.fate, completedAt: doneAt }
  }

  return async function (app: FastifyInstance): Promise<void> {
    app.post(BASE, async (request, reply) => {
      const errors = validate(QUERY_SCHEMA, request.body)
      if (errors.length > 0) return await platformError(reply, 400, 'bad.request', errors[0].message, { details: errors.map((e) => ({ fieldName: e.path })) })
      const query = request.body as Query
      const interval = parseInterval(query.interval)
      if (interval === undefined) {
        return await platformError(reply, 400, 'bad.request', `interval '${query.interval}' is not an ISO-8601 'from/to' pair with from before to`, { details: [{ fieldName: 'interval' }] })
      }
      const bucketMs = query.granularity === undefined ? interval.to - interval.from : parseDuration(query.granularity)
      if (bucketMs === undefined) return await platformError(reply, 400, 'bad.request', `granularity '${query.granularity}' is not a supported ISO-8601 duration`, { details: [{ fieldName: 'granularity' }] })
      if ((interval.to - interval.from) / bucketMs > MAX_BUCKETS) return await platformError(reply, 400, 'bad.request', `granularity '${query.granularity}' splits the interval into more than ${MAX_BUCKETS} buckets`, { details: [{ fieldName: 'granularity' }] })
      if (query.timeZone !== undefined && !isTimeZone(query.timeZone)) return await platformError(reply, 400, 'bad.request', `timeZone '${query.timeZone}' is not an IANA time zone`, { details: [{ fieldName: 'timeZone' }] })
      const named = queueIdsNamed(query.filter)
      const fate = named.includes(SANDBOX_FIXTURES.queues.failing) ? 'FAILED' : named.includes(SANDBOX_FIXTURES.queues.expiring) ? 'EXPIRED' : 'FULFILLED'
      const job: Job = { id: ctx.ids.uuid(), submittedAt: ctx.now(), fate, groups: buildGroups(query, interval.from, interval.to, bucketMs), pageSize: query.pageSize ?? DEFAULT_PAGE_SIZE }
      jobs.set(job.id, job)
      return await reply.code(202).send({ jobId: job.id })
    })

    app.get<{ Params: { jobId: string } }>(`${BASE}/:jobId`, async (request, reply) => {
      const job = jobs.get(request.params.jobId)
      if (job === undefined) return await platformError(reply, 404, 'not.found', `Job ${request.params.jobId} not found`, { entityId: request.params.jobId })
      const { state, completedAt } = stateOf(job, ctx.now())
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
      if (stateOf(job, ctx.now()).completedAt === undefined) job.cancelledAt = ctx.now()
      return await reply.code(204).send()
    })

    app.get<{ Params: { jobId: string }, Querystring: { cursor?: string } }>(`${BASE}/:jobId/results`, async (request, reply) => {
      const job = jobs.get(request.params.jobId)
      if (job === undefined) return await platformError(reply, 404, 'not.found', `Job ${request.params.jobId} not found`, { entityId: request.params.jobId })
      const { state } = stateOf(job, ctx.now())
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
}
