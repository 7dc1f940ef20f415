import { Type, type Static } from 'typebox'
import { invalid } from '../../errors.ts'
import { FIXTURE_IDS } from '../../fixture-ids.ts'
import { MEDIA_TYPES, type AggregateResultGroup, type MediaType } from '../../clients/genesys/analytics.ts'
import { GenesysError } from '../../clients/genesys/index.ts'
import { fail, next, succeed, waitFor, type JobKind } from '../kind.ts'
import { IntervalInvalid, resolveInterval, type RelativeInterval } from '../schedules/interval.ts'
import { outcomeOfGenesysError } from './action-services.ts'
import { addStats, DEFAULT_KPIS, DEFAULT_WEIGHTS, KPI_NAMES, KPIS, type KpiName, type MetricTotals } from './routing/kpis.ts'
import { aggregatesQuery, DEFAULT_MEDIA_TYPES } from './routing/query.ts'
import { scoreQueues } from './routing/scoring.ts'
import { bucketCount, MAX_SERIES_POINTS, resultTable, ROUTING_RESULT_EXAMPLE, RoutingEvaluationResult, seriesOf, type SeriesTotals } from './routing/result.ts'
import { genesysOf, type KindDeps } from './deps.ts'

export const MAX_INTERVAL_DAYS = 30
const DAY_MS = 86_400_000
const ISO_DURATION = '^P(?!$)(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+S)?)?$'

const Interval = Type.Object({
  from: Type.String({ format: 'date-time', description: 'Start, inclusive' }),
  to: Type.String({ format: 'date-time', description: 'End, exclusive; at most 30 days after from' })
}, { additionalProperties: false, 'x-expected': '{"from": <date-time>, "to": <date-time>}' })

/** In a schedule, the interval may be given relative to each tick, resolved in the schedule's time zone. */
const ScheduledInterval = Type.Union([
  Interval,
  Type.Object({
    last: Type.String({ minLength: 2, maxLength: 40, description: 'An ISO-8601 duration ending at the tick, e.g. P1D, PT6H or P7D' })
  }, { additionalProperties: false, 'x-expected': '{"last": <ISO-8601 duration such as P1D>}' }),
  Type.Object({
    previous: Type.Enum(['day', 'week', 'month'], { description: "The whole calendar day, ISO week (from Monday) or month before the tick's own" })
  }, { additionalProperties: false, 'x-expected': '{"previous": "day" | "week" | "month"}' })
], {
  'x-error-code': 'INTERVAL_INVALID',
  description: 'Absolute `{from, to}`, or relative to each tick in the schedule\'s time zone: `{"last": "P1D"}` (the duration ending at the tick) or `{"previous": "day" | "week" | "month"}`'
})

const Body = Type.Object({
  queueIds: Type.Array(Type.String({
    format: 'uuid',
    'x-error-code': 'QUEUE_ID_INVALID',
    description: "A queue id: a GUID such as dda9caa0-28d0-437d-a6d5-345ba693f4f3, as GET /api/v2/routing/queues lists it (its id field; look a queue up by name with ?name=), not the queue's name"
  }), {
    minItems: 1,
    maxItems: 100,
    uniqueItems: true,
    'x-error-code': 'QUEUE_IDS_INVALID',
    description: 'The queues (routing targets) to compare, 1 to 100, by id: GUIDs as `GET /api/v2/routing/queues` lists them, not queue names'
  }),
  mediaTypes: Type.Array(Type.Enum([...MEDIA_TYPES], { 'x-error-code': 'MEDIA_TYPE_UNKNOWN' }), {
    minItems: 1,
    uniqueItems: true,
    default: DEFAULT_MEDIA_TYPES,
    'x-error-code': { minItems: 'NO_MEDIA_TYPES', uniqueItems: 'DUPLICATE_MEDIA_TYPES' },
    description: `The Genesys media types counted (${MEDIA_TYPES.join(', ')}); default voice, because the KPIs named "calls" count calls. ` +
      'Without this filter Genesys would count chats, emails and messages too.'
  }),
  interval: Interval,
  granularity: Type.Optional(Type.String({
    pattern: ISO_DURATION,
    'x-error-code': 'GRANULARITY_INVALID',
    'x-expected': 'an ISO-8601 duration such as PT15M, PT30M, PT1H, P1D or P7D',
    description: 'ISO-8601 duration, e.g. PT30M or P1D: each result row then carries its series, one entry per interval'
  })),
  timeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Europe/London (UTC by default)' })),
  kpis: Type.Array(Type.Enum(KPI_NAMES, { 'x-error-code': 'UNKNOWN_KPI' }), {
    minItems: 1,
    maxItems: 10,
    uniqueItems: true,
    default: DEFAULT_KPIS,
    'x-error-code': { maxItems: 'TOO_MANY_KPIS', uniqueItems: 'DUPLICATE_KPIS', minItems: 'NO_KPIS' },
    description: `Up to 10 of: ${KPI_NAMES.join(', ')}`
  }),
  weights: Type.Optional(Type.Record(Type.String(), Type.Number({ minimum: 0, maximum: 1000 }), {
    description: 'Weight per KPI; defaults: handledCalls 0.3, avgSpeedOfAnswer 0.4, abandonedCalls 0.3, other KPIs share equally'
  }))
})
type BodyInput = Static<typeof Body>

export function checkRoutingBody (body: BodyInput): void {
  const from = Date.parse(body.interval.from)
  const to = Date.parse(body.interval.to)
  if (!(from < to)) throw invalid('INTERVAL_INVALID', `interval.from (${body.interval.from}) must be before interval.to (${body.interval.to})`)
  if (to - from > MAX_INTERVAL_DAYS * DAY_MS) {
    throw invalid('INTERVAL_TOO_LONG', `The interval spans ${((to - from) / DAY_MS).toFixed(1)} days; at most ${MAX_INTERVAL_DAYS} are allowed. Split it into several jobs.`)
  }
  const unknown = Object.keys(body.weights ?? {}).filter((k) => !(body.kpis as string[]).includes(k))
  if (unknown.length > 0) throw invalid('WEIGHTS_UNKNOWN_KPI', `weights names ${unknown.join(', ')}, which ${unknown.length === 1 ? 'is' : 'are'} not among the kpis asked for (${body.kpis.join(', ')})`)
  if (body.granularity !== undefined) {
    const buckets = bucketCount(to - from, body.granularity)
    if (buckets === undefined) throw invalid('GRANULARITY_INVALID', `granularity ${body.granularity} is no length of time; use one such as PT30M or P1D`)
    const points = buckets * body.queueIds.length
    if (points > MAX_SERIES_POINTS) {
      throw invalid('SERIES_TOO_LONG', `granularity ${body.granularity} splits the interval into up to ${buckets} intervals for each of the ` +
        `${body.queueIds.length} queue(s), ${points} series entries; at most ${MAX_SERIES_POINTS} are kept. Choose a coarser granularity, a shorter interval or fewer queues.`)
    }
  }
  if (body.timeZone !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: body.timeZone }).format()
    } catch {
      throw invalid('TIME_ZONE_INVALID', `timeZone '${body.timeZone}' is not an IANA time zone such as Europe/London`)
    }
  }
}

/** Explicit weights win; the design defaults apply to their KPIs; other KPIs share equally. */
export function weightsFor (kpis: KpiName[], given: Record<string, number> | undefined): Record<string, number> {
  if (given !== undefined && Object.keys(given).length > 0) return Object.fromEntries(kpis.map((k) => [k, given[k] ?? 0]))
  const defaults = kpis.every((k) => DEFAULT_WEIGHTS[k] !== undefined) && kpis.length === DEFAULT_KPIS.length
  return Object.fromEntries(kpis.map((k) => [k, defaults ? DEFAULT_WEIGHTS[k]! : 1 / kpis.length]))
}

interface State {
  analyticsJobId?: string
  /** The media types the submitted query counted; absent for jobs submitted before the filter existed. */
  mediaTypes?: MediaType[]
  polls: number
  cursor?: string
  totals: Record<string, MetricTotals>
  /** Per queue, per interval: the totals of each sub-interval (only when the job has a granularity). */
  series?: SeriesTotals
  pages: number
}

const pollDelay = (polls: number) => Math.min(250 * 1.5 ** polls, 10_000)

export function createRoutingEvaluationKind (deps: KindDeps): JobKind<typeof Body, State> {
  const { now } = deps
  return {
    name: 'routing-evaluation',
    summary: 'Compare routing targets (queues) on conversation KPIs',
    description: 'Submits an asynchronous conversation aggregates job (`POST /api/v2/analytics/conversations/aggregates/jobs`, grouped by ' +
      'queueId, filtered to the queues AND the `mediaTypes`, voice by default so that KPIs named calls count calls), polls it until ' +
      'FULFILLED, reads every result page by cursor, then scores the queues: each KPI is min–max normalised across queues ' +
      '(lower-is-better KPIs inverted), weighted and summed; `percentileRank` is the average rank ÷ n. Each row carries the ' +
      'queue\'s `queueName` (`GET /api/v2/routing/queues?id=…`, in batches; unknown ids are named in a warning) and, with a ' +
      '`granularity`, its `series`: one entry per interval with the KPI values. `GET /v1/jobs/{id}/result?format=csv` gives the ' +
      'table as CSV. With a `callbackUrl` the callback carries the BI sync payload. Genesys permissions: ' +
      '`analytics:conversationAggregate:view`, `routing:queue:view`.',
    body: Body,
    example: {
      queueIds: [FIXTURE_IDS.queues.support, FIXTURE_IDS.queues.sales, FIXTURE_IDS.queues.billing],
      mediaTypes: ['voice'],
      interval: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-08T00:00:00.000Z' },
      granularity: 'P1D',
      timeZone: 'Europe/London',
      kpis: ['handledCalls', 'avgSpeedOfAnswer', 'abandonedCalls'],
      weights: { handledCalls: 0.3, avgSpeedOfAnswer: 0.4, abandonedCalls: 0.3 }
    },
    validate: checkRoutingBody,
    schedule: {
      fields: { interval: ScheduledInterval },
      atTick (body, tick) {
        const interval = body.interval as typeof body.interval | RelativeInterval
        if ('from' in interval) return body
        try {
          // The report's buckets follow the schedule's time zone unless the body names one.
          return { ...body, interval: resolveInterval(interval, tick.at, tick.timeZone), timeZone: body.timeZone ?? tick.timeZone }
        } catch (err) {
          if (err instanceof IntervalInvalid) throw invalid('INTERVAL_INVALID', err.message)
          throw err
        }
      }
    },
    initialStep: 'submit',
    initialState: (body) => ({ polls: 0, totals: {}, pages: 0, ...(body.granularity === undefined ? {} : { series: {} }) }),
    resultSchema: RoutingEvaluationResult,
    resultExample: ROUTING_RESULT_EXAMPLE,
    resultTable,
    callbackPayload: (result, job) => {
      const rows = (result as { rows: unknown[] }).rows
      return { timestamp: job.finishedAt, evaluation_type: 'routing_strategy_performance', record_count: rows.length, data: rows }
    },
    auditDetails: (_status, state) => ({ analyticsJobId: state.analyticsJobId ?? null, pages: state.pages }),
    steps: {
      /** Submitting twice only creates a second job to read, so a crash here is harmless. */
      async submit (ctx) {
        const { queueIds, interval, granularity, timeZone, kpis } = ctx.job.input
        // Jobs stored before mediaTypes existed carry no value; they get the default like a new submission would.
        const mediaTypes = ctx.job.input.mediaTypes ?? DEFAULT_MEDIA_TYPES
        const query = aggregatesQuery({ queueIds, mediaTypes, interval, granularity, timeZone, kpis })
        const metrics = query.metrics
        let submitted
        try {
          submitted = await genesysOf(deps, ctx.job).analytics.submitAggregatesJob(query, ctx.signal)
        } catch (err) {
          return outcomeOfGenesysError(err, 'Submitting the aggregates job', { default: 'ANALYTICS_QUERY_REJECTED' })
        }
        return {
          type: 'wait',
          step: 'poll',
          state: { ...ctx.state, analyticsJobId: submitted.jobId, mediaTypes, polls: 0 },
          until: now() + pollDelay(0),
          reason: 'analytics job submitted',
          remoteRef: submitted.jobId,
          timeline: [{ type: 'remote', data: { analyticsJobId: submitted.jobId, metrics, mediaTypes } }]
        }
      },

      async poll (ctx) {
        const jobId = ctx.state.analyticsJobId!
        let status
        try {
          status = await genesysOf(deps, ctx.job).analytics.getAggregatesJob(jobId, ctx.signal)
        } catch (err) {
          return outcomeOfGenesysError(err, `Reading analytics job ${jobId}`, { 404: 'ANALYTICS_JOB_NOT_FOUND', default: 'ANALYTICS_POLL_FAILED' })
        }
        const polls = ctx.state.polls + 1
        if (status.state === 'FULFILLED') return next('fetch', { ...ctx.state, polls })
        if (status.state === 'QUEUED' || status.state === 'PENDING') {
          const delay = pollDelay(polls)
          return waitFor('poll', { ...ctx.state, polls }, delay, `analytics job ${status.state}; next check in ${Math.round(delay)} ms`, now())
        }
        return fail(`ANALYTICS_JOB_${status.state}`, `The analytics job ended ${status.state}${status.errorMessage === undefined ? '' : `: ${status.errorMessage}`}`,
          { details: { analyticsJobId: jobId, state: status.state, errorMessage: status.errorMessage ?? null } })
      },

      /** Reads every page; each page's totals are checkpointed with the cursor of the next. */
      async fetch (ctx) {
        const jobId = ctx.state.analyticsJobId!
        let state = ctx.state
        for (;;) {
          let page
          try {
            page = await genesysOf(deps, ctx.job).analytics.getAggregatesResults(jobId, state.cursor, ctx.signal)
          } catch (err) {
            return outcomeOfGenesysError(err, `Reading results of analytics job ${jobId}`, { default: 'ANALYTICS_RESULTS_FAILED' })
          }
          const totals = structuredClone(state.totals)
          const series = state.series === undefined ? undefined : structuredClone(state.series)
          for (const group of page.results ?? []) accumulate(totals, series, group)
          state = { ...state, totals, ...(series === undefined ? {} : { series }), cursor: page.cursor, pages: state.pages + 1 }
          if (page.cursor === undefined || page.cursor === '') break
          await ctx.checkpoint(state)
        }
        return next('names', state)
      },

      /**
       * Reads the queues' names (`GET /api/v2/routing/queues?id=…`, in batches), then scores. Ids
       * Genesys does not know are named in a warning; names it will not give (no permission) are a
       * warning too, not a failure: the scores do not need them.
       */
      async names (ctx) {
        const { kpis, queueIds } = ctx.job.input
        const state = ctx.state
        const warnings: string[] = []
        let namesRefused: string | undefined
        let names: Map<string, string | undefined> | undefined
        try {
          const queues = await genesysOf(deps, ctx.job).routing.queuesById(queueIds, ctx.signal)
          names = new Map([...queues].map(([id, q]) => [id, q.name]))
        } catch (err) {
          if (!(err instanceof GenesysError) || err.retryable) return outcomeOfGenesysError(err, 'Reading the queue names', { default: 'QUEUE_NAMES_FAILED' })
          namesRefused = `Queue names could not be read (GET /api/v2/routing/queues answered ${err.status}: ${err.message}${err.status === 403 ? '; the OAuth client needs routing:queue:view' : ''}); rows carry queueName null.`
        }
        const weights = weightsFor(kpis, ctx.job.input.weights)
        const withData = queueIds.filter((q) => state.totals[q] !== undefined)
        // null: the query was submitted before the media filter existed and counted every media type.
        const mediaTypes = state.mediaTypes ?? null
        if (mediaTypes === null) warnings.push('This analytics job was submitted without a mediaType filter: its counts cover every media type, not only calls.')
        if (withData.length === 0) warnings.push('No conversation data for these queues in this interval; nothing to compare.')
        const missing = queueIds.filter((q) => state.totals[q] === undefined)
        if (withData.length > 0 && missing.length > 0) warnings.push(`No data for ${missing.length} queue(s): ${missing.join(', ')}`)
        if (namesRefused !== undefined) warnings.push(namesRefused)
        const unknown = names === undefined ? [] : queueIds.filter((q) => !names.has(q))
        if (unknown.length > 0) warnings.push(`Genesys knows no queue with ${unknown.length === 1 ? 'id' : 'ids'} ${unknown.join(', ')} (GET /api/v2/routing/queues): check ${unknown.length === 1 ? 'it' : 'them'}.`)
        const rows = scoreQueues(
          withData.map((queueId) => ({ queueId, values: Object.fromEntries(kpis.map((k) => [k, KPIS[k].value(state.totals[queueId]!)])) })),
          kpis.map((name) => ({ name, higherIsBetter: KPIS[name].higherIsBetter, weight: weights[name]! }))
        ).map((row, i) => ({
          rank: i + 1,
          queueId: row.queueId,
          queueName: names?.get(row.queueId) ?? null,
          score: row.score,
          percentileRank: row.percentileRank,
          kpis: row.kpis,
          ...(state.series === undefined ? {} : { series: seriesOf(state.series[row.queueId] ?? {}, kpis) })
        }))
        const { interval, granularity } = ctx.job.input
        return succeed({ analyticsJobId: state.analyticsJobId!, interval, ...(granularity === undefined ? {} : { granularity }), mediaTypes, kpis, weights, pages: state.pages, rows, warnings }, state)
      }
    }
  }
}

/** Adds one result group to its queue's totals and, when kept, to the totals of each of its sub-intervals. */
function accumulate (totals: Record<string, MetricTotals>, series: SeriesTotals | undefined, group: AggregateResultGroup): void {
  const queueId = group.group.queueId
  if (queueId === undefined) return
  const queue = totals[queueId] ?? {}
  const perInterval = series === undefined ? undefined : (series[queueId] ??= {})
  for (const slice of group.data ?? []) {
    const bucket = perInterval === undefined ? undefined : (perInterval[slice.interval] ??= {})
    for (const m of slice.metrics) {
      addStats(queue, m.metric, m.stats)
      if (bucket !== undefined) addStats(bucket, m.metric, m.stats)
    }
  }
  totals[queueId] = queue
}
