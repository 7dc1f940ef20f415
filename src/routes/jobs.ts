import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type TInteger } from 'typebox'
import { Value } from 'typebox/value'
import { badRequest, notFound } from '../errors.ts'
import { bearerSecurity, errorResponses, LABEL_KEY_WORDS } from '../schemas/common.ts'
import { anyJobSchema, isTerminal, JOB_STATUSES, JobStatusSchema, kindJobSchema, kindJobSchemaId, type JobStatus } from '../schemas/job.ts'
import { refuseRetiredFields, submissionBody } from '../jobs/submit.ts'
import type { JobKind } from '../jobs/kind.ts'
import type { Include } from '../jobs/read.ts'

export { submissionBody }
import { streamJobEvents } from './job-events-stream.ts'
import { guardBody } from './body-guard.ts'

const JobIdParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'The job id' }) })

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({
    minLength: 1,
    maxLength: 257,
    description: 'Makes the submission safe to retry: the same key with the same body replays the first answer for 24 h'
  }))
})

/** RFC 8941 sends the key as a quoted string; most clients send it bare. Both are accepted. */
export function parseIdempotencyKey (raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  const key = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw
  if (!/^[\x21-\x7e]{8,255}$/.test(key)) {
    throw badRequest('INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key must be 8 to 255 printable ASCII characters without spaces, e.g. a UUID')
  }
  return key
}

/** The large fields a read adds (`include=input,result`); `fallback` when the parameter is absent. */
export function parseInclude (raw: string | undefined, fallback: Include): Include {
  if (raw === undefined) return fallback
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
  return { input: names.includes('input'), result: names.includes('result') }
}

const INCLUDE_WORDS = 'input, result, or both, comma-separated (e.g. include=input,result); empty for neither'
const IncludeParam = (description: string) => Type.Optional(Type.String({
  pattern: '^\\s*((input|result)\\s*(,\\s*(input|result)\\s*)*)?$',
  maxLength: 64,
  'x-expected': INCLUDE_WORDS,
  'x-error-code': 'INCLUDE_INVALID',
  description
}))

const EXAMPLE_ID = '0193b0a8-4c2e-7d41-9a55-1f2e3d4c5b6a'
const EXAMPLE_TIMES = { createdAt: '2026-11-23T10:00:00.000Z', startedAt: '2026-11-23T10:00:00.012Z', finishedAt: '2026-11-23T10:00:04.250Z', updatedAt: '2026-11-23T10:00:04.250Z', deadlineAt: '2026-11-23T11:00:00.000Z' }

/** A real-looking job of the kind, as Swagger UI shows it: queued as the 202 answers it, or finished with its result. */
export function jobExample (kind: JobKind, finished: boolean): Record<string, unknown> {
  const input = Value.Default(kind.body, structuredClone(kind.example)) as Record<string, unknown>
  const common = { id: EXAMPLE_ID, kind: kind.name, submittedBy: 'reporting-svc', team: 'reporting', priority: 'normal', input, labels: { env: 'prod' }, callbackUrl: null, cancelRequested: false, waitReason: null, rerunOf: null }
  if (!finished) {
    return { ...common, status: 'queued', step: kind.initialStep, progress: null, attempts: 0, createdAt: EXAMPLE_TIMES.createdAt, startedAt: null, finishedAt: null, updatedAt: EXAMPLE_TIMES.createdAt, deadlineAt: EXAMPLE_TIMES.deadlineAt }
  }
  const rows = Array.isArray(input.datasetMatrix) ? input.datasetMatrix.length : null
  return {
    ...common,
    status: 'succeeded',
    step: Object.keys(kind.steps).at(-1) ?? kind.initialStep,
    progress: rows === null ? null : { done: rows, total: rows, ratePerSecond: 4.8, etaSeconds: null },
    attempts: 1,
    ...EXAMPLE_TIMES,
    ...(kind.resultExample === undefined ? {} : { result: kind.resultExample })
  }
}

/** A job as a list shows it: without the large fields. */
const summaryOf = (job: Record<string, unknown>) => Object.fromEntries(Object.entries(job).filter(([k]) => k !== 'input' && k !== 'result'))

/** Answers are written with JSON.stringify: the kinds' typed schemas document them, and no field is dropped by a serializer. */
const asJson = () => (data: unknown) => JSON.stringify(data)

interface Cursor { c: number, i: string }
const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url')
function decodeCursor (raw: string): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor
    if (typeof parsed.c === 'number' && typeof parsed.i === 'string') return parsed
  } catch {}
  throw badRequest('INVALID_CURSOR', 'cursor is not one this service issued; pass nextCursor from the previous page unchanged')
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const kinds = [...app.jobs.kinds.values()]
  const kindNames = kinds.map((k) => k.name)
  /** The filters a list and a count share. */
  const listFilters = {
    kind: Type.Optional(Type.Enum(kindNames, { 'x-error-code': 'KIND_UNKNOWN', description: 'Only jobs of this kind' })),
    label: Type.Optional(Type.Array(Type.String({
      pattern: '^[A-Za-z0-9_.-]{1,63}:.{0,256}$',
      'x-expected': `key:value, the key ${LABEL_KEY_WORDS}, the value up to 256 characters`,
      'x-error-code': 'LABEL_FILTER_INVALID'
    }), { maxItems: 16, description: 'key:value; repeat to require several labels' })),
    createdAfter: Type.Optional(Type.String({ format: 'date-time', description: 'Only jobs created at or after this instant' })),
    createdBefore: Type.Optional(Type.String({ format: 'date-time', description: 'Only jobs created before this instant' }))
  }
  function filterOf (query: { kind?: string, label?: string[], createdAfter?: string, createdBefore?: string }) {
    const { kind, label, createdAfter, createdBefore } = query
    const after = createdAfter === undefined ? undefined : Date.parse(createdAfter)
    const until = createdBefore === undefined ? undefined : Date.parse(createdBefore)
    if (after !== undefined && until !== undefined && after >= until) {
      throw badRequest('CREATED_RANGE_INVALID', `createdAfter (${createdAfter}) must be before createdBefore (${createdBefore})`)
    }
    return {
      kind,
      labels: label?.map((l) => { const at = l.indexOf(':'); return [l.slice(0, at), l.slice(at + 1)] as [string, string] }),
      createdAfter: after,
      createdBefore: until
    }
  }
  // Each kind's job schema (`DataActionJob`, …): its input and result typed for generated clients.
  for (const kind of kinds) {
    app.addSchema(kindJobSchema(kindJobSchemaId(kind.name), kind.name, kind.body, kind.resultSchema, jobExample(kind, true)))
  }
  const AnyJob = (description: string) => ({ ...anyJobSchema(kindNames, description), examples: [jobExample(kinds.find((k) => k.resultExample !== undefined) ?? kinds[0]!, true)] })

  for (const kind of kinds) {
    app.post(`/v1/jobs/${kind.name}`, {
      config: { scope: 'jobs:write' },
      preValidation: [guardBody, async (request) => { refuseRetiredFields(kind, request.body) }],
      ...(kind.bodyLimit === undefined ? {} : { bodyLimit: kind.bodyLimit }),
      serializerCompiler: asJson,
      schema: {
        tags: ['Jobs'],
        security: bearerSecurity,
        summary: kind.summary,
        description: kind.description,
        headers: IdempotencyHeaders,
        body: submissionBody(kind),
        response: {
          202: {
            description: 'Accepted; the job runs in the background. The answer carries the input with its defaults applied.',
            content: { 'application/json': { schema: Type.Ref(kindJobSchemaId(kind.name)), example: jobExample(kind, false) } }
          },
          ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429)
        }
      }
    }, async (request, reply) => {
      const idempotencyKey = parseIdempotencyKey(request.headers['idempotency-key'])
      const { job, replayed } = await app.jobs.submit({ kind, body: request.body as Record<string, unknown>, actor: request.actor, idempotencyKey })
      if (replayed) void reply.header('idempotent-replayed', 'true')
      return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job)
    })
  }

  // A submission to a kind this service does not have: say which kinds it has.
  app.post('/v1/jobs/:kind', { config: { scope: 'jobs:write' }, schema: { hide: true } }, async (request) => {
    const { kind } = request.params as { kind: string }
    throw notFound('KIND_NOT_FOUND', `There is no job kind '${kind}'; the kinds are ${kindNames.join(', ')} (POST /v1/jobs/<kind>)`)
  })

  app.get('/v1/jobs/:id', {
    config: { scope: 'jobs:read' },
    serializerCompiler: asJson,
    schema: {
      tags: ['Jobs'],
      security: bearerSecurity,
      summary: 'Read a job',
      description: 'With `waitSeconds`, the answer is held until the job is terminal or the time is up (long-poll). ' +
        'The answer carries `result` but not `input` unless `include` says otherwise (`include=input,result` for both, empty for neither).',
      params: JobIdParams,
      querystring: Type.Object({
        waitSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 60, description: 'Hold the answer up to this long for a terminal status' })),
        include: IncludeParam('The large fields to add: input, result (default: result)')
      }, { additionalProperties: false }),
      response: { 200: AnyJob('The job, as its kind\'s schema (told apart by `kind`)'), ...errorResponses(400, 401, 403, 404) }
    }
  }, async (request) => {
    const gone = new AbortController()
    request.raw.once('close', () => gone.abort())
    const include = parseInclude(request.query.include, { input: false, result: true })
    return await app.jobs.wait(request.actor, request.params.id, (request.query.waitSeconds ?? 0) * 1000, gone.signal, include)
  })

  app.get('/v1/jobs', {
    config: { scope: 'jobs:read' },
    serializerCompiler: asJson,
    schema: {
      tags: ['Jobs'],
      security: bearerSecurity,
      summary: 'List jobs, newest first',
      description: "The caller's team's jobs; every team's for a key with `jobs:admin`. Each job is a summary, without `input` and " +
        '`result` unless `include` asks for them, so a page of 50 jobs of 5 000 dataset rows each stays small.',
      querystring: Type.Object({
        kind: listFilters.kind,
        status: Type.Optional(JobStatusSchema),
        label: listFilters.label,
        createdAfter: listFilters.createdAfter,
        createdBefore: listFilters.createdBefore,
        include: IncludeParam('The large fields to add to each job: input, result (default: neither)'),
        limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
        cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' }))
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          items: Type.Array(anyJobSchema(kindNames)),
          nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page' })
        }, { examples: [{ items: kinds.slice(0, 2).map((k) => summaryOf(jobExample(k, true))), nextCursor: 'eyJjIjoxNzk0MDM4NTcwNzkxLCJpIjoiMDE5M2IwYTgtNGMyZS03ZDQxLTlhNTUtMWYyZTNkNGM1YjZhIn0' }] }),
        ...errorResponses(400, 401, 403)
      }
    }
  }, async (request) => {
    const { status, limit, cursor } = request.query
    const before = cursor === undefined ? undefined : decodeCursor(cursor)
    const page = await app.jobs.list(request.actor, {
      ...filterOf(request.query),
      status,
      large: parseInclude(request.query.include, { input: false, result: false }),
      limit,
      before: before === undefined ? undefined : { createdAt: before.c, id: before.i }
    })
    return { items: page.items, nextCursor: page.next === undefined ? null : encodeCursor({ c: page.next.createdAt, i: page.next.id }) }
  })

  app.get('/v1/jobs/counts', {
    config: { scope: 'jobs:read' },
    schema: {
      tags: ['Jobs'],
      security: bearerSecurity,
      summary: 'How many jobs have each status',
      description: "Counts over the caller's team's jobs (every team's for a key with `jobs:admin`) that match the list's filters " +
        '(`kind`, `label`, `createdAfter`, `createdBefore`): every status, 0 where there is none, and the total. One count in the ' +
        'database, not a walk through the pages.',
      querystring: Type.Object(listFilters, { additionalProperties: false }),
      response: {
        200: Type.Object({
          counts: Type.Object(Object.fromEntries(JOB_STATUSES.map((s) => [s, Type.Integer({ minimum: 0 })])) as Record<JobStatus, TInteger>, { additionalProperties: false }),
          total: Type.Integer({ minimum: 0, description: 'The sum of the counts' })
        }, { examples: [{ counts: { queued: 2, running: 1, waiting: 3, succeeded: 120, failed: 4, cancelled: 1, timed_out: 0 }, total: 131 }] }),
        ...errorResponses(400, 401, 403)
      }
    }
  }, async (request) => await app.jobs.counts(request.actor, filterOf(request.query)))

  app.get('/v1/jobs/:id/events', {
    config: { scope: 'jobs:read' },
    schema: {
      tags: ['Jobs'],
      security: bearerSecurity,
      summary: "A job's timeline",
      description: 'State changes, steps, remote ids, node transitions, progress and callback attempts. ' +
        'Send `Accept: text/event-stream` to watch it live (Server-Sent Events; resumes from `Last-Event-ID`).',
      params: JobIdParams,
      querystring: Type.Object({
        after: Type.Integer({ minimum: 0, default: 0, description: 'Only events with a greater seq' }),
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 500 })
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          jobId: Type.String(),
          events: Type.Array(Type.Ref('JobEvent')),
          nextAfter: Type.Integer({ description: 'Pass as `after` to continue' })
        }),
        ...errorResponses(400, 401, 403, 404)
      }
    }
  }, async (request, reply) => {
    const { id } = request.params
    if ((request.headers.accept ?? '').includes('text/event-stream')) {
      await app.jobs.get(request.actor, id, { input: false, result: false })
      const lastId = Number(request.headers['last-event-id'])
      return streamJobEvents(app, request, reply, id, Number.isInteger(lastId) && lastId > 0 ? lastId : request.query.after)
    }
    const events = await app.jobs.timeline(request.actor, id, request.query.after, request.query.limit)
    return { jobId: id, events, nextAfter: events.length > 0 ? events[events.length - 1]!.seq : request.query.after }
  })

  app.post('/v1/jobs/:id/rerun', {
    config: { scope: 'jobs:write' },
    // No body at all means no change, as `{}` does.
    preValidation: async (request) => { request.body ??= {} },
    schema: {
      tags: ['Jobs'],
      security: bearerSecurity,
      summary: 'Re-run a finished job',
      description: 'Creates a new job of the same kind from a finished one (succeeded, failed, cancelled or timed out), in the ' +
        "caller's team: the same input, labels and callbackUrl, with the fields the body gives laid over them (checked as a " +
        'submission is). The new job names the original in `rerunOf`; the original lists it in `reruns` and on its timeline. ' +
        'For an `llm-evaluation` of the data-action engine, `rows: "errors"` or `rows: "mismatches"` runs only those rows of the ' +
        'original, and the result says which (`rerunOf.originalRows`: row i of the re-run is that row of the original). ' +
        'Honours `Idempotency-Key` like a submission.',
      params: JobIdParams,
      headers: IdempotencyHeaders,
      body: Type.Object({
        rows: Type.Optional(Type.Enum(['errors', 'mismatches'], {
          description: 'Only the rows of the original that errored, or whose output differed from the expected one (llm-evaluation, data-action engine)'
        }))
      }, {
        additionalProperties: true,
        description: 'Any other field replaces that field of the input (e.g. `timeoutMs`, `labels`, `callbackUrl`); `{}` runs the same input again',
        examples: [{}, { rows: 'errors' }, { timeoutMs: 60000, labels: { attempt: '2' } }]
      }),
      response: {
        202: { description: 'Accepted; the re-run runs in the background', ...Type.Ref('Job') },
        ...errorResponses(400, 401, 403, 404, 409, 422, 429)
      }
    }
  }, async (request, reply) => {
    const idempotencyKey = parseIdempotencyKey(request.headers['idempotency-key'])
    const { job, replayed } = await app.jobs.rerun({ actor: request.actor, jobId: request.params.id, body: request.body, idempotencyKey })
    if (replayed) void reply.header('idempotent-replayed', 'true')
    return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job)
  })

  app.post('/v1/jobs/:id/cancel', {
    config: { scope: 'jobs:write' },
    serializerCompiler: asJson,
    schema: {
      tags: ['Jobs'],
      security: bearerSecurity,
      summary: 'Cancel a job',
      description: 'A queued or waiting job is cancelled at once (200). A running job is asked to stop at its next ' +
        'safe point (202, `cancelRequested: true`). A finished job cannot be cancelled (409). A job that ends early keeps what it ' +
        'measured (an LLM evaluation: the metrics of the rows it finished, marked partial).',
      params: JobIdParams,
      response: { 200: AnyJob('Cancelled'), 202: AnyJob('Asked to stop'), ...errorResponses(401, 403, 404, 409) }
    }
  }, async (request, reply) => {
    const job = await app.jobs.cancel(request.actor, request.params.id)
    return reply.code(isTerminal(job.status) ? 200 : 202).send(job)
  })
}

export default routes
