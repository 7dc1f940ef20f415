import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { badRequest } from '../errors.ts'
import { bearerSecurity, errorResponses } from '../schemas/common.ts'
import { isTerminal, JobListSchema, JobStatusSchema } from '../schemas/job.ts'
import { refuseRetiredFields, submissionBody } from '../jobs/submit.ts'

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
  for (const kind of app.jobs.kinds.values()) {
    app.post(`/v1/jobs/${kind.name}`, {
      config: { scope: 'jobs:write' },
      preValidation: [guardBody, async (request) => { refuseRetiredFields(kind, request.body) }],
      ...(kind.bodyLimit === undefined ? {} : { bodyLimit: kind.bodyLimit }),
      schema: {
        tags: ['Jobs'],
        security: bearerSecurity,
        summary: kind.summary,
        description: kind.description,
        headers: IdempotencyHeaders,
        body: submissionBody(kind),
        response: {
          202: { description: 'Accepted; the job runs in the background', ...Type.Ref('Job') },
          ...errorResponses(400, 401, 403, 409, 413, 422, 429)
        }
      }
    }, async (request, reply) => {
      const idempotencyKey = parseIdempotencyKey(request.headers['idempotency-key'])
      const { job, replayed } = await app.jobs.submit({ kind, body: request.body as Record<string, unknown>, actor: request.actor, idempotencyKey })
      if (replayed) void reply.header('idempotent-replayed', 'true')
      return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job)
    })
  }

  app.get('/v1/jobs/:id', {
    config: { scope: 'jobs:read' },
    schema: {
      tags: ['Jobs'],
      security: bearerSecurity,
      summary: 'Read a job',
      description: 'With `waitSeconds`, the answer is held until the job is terminal or the time is up (long-poll).',
      params: JobIdParams,
      querystring: Type.Object({
        waitSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 60, description: 'Hold the answer up to this long for a terminal status' }))
      }),
      response: { 200: Type.Ref('Job'), ...errorResponses(400, 401, 403, 404) }
    }
  }, async (request) => {
    const gone = new AbortController()
    request.raw.once('close', () => gone.abort())
    return await app.jobs.wait(request.actor, request.params.id, (request.query.waitSeconds ?? 0) * 1000, gone.signal)
  })

  app.get('/v1/jobs', {
    config: { scope: 'jobs:read' },
    schema: {
      tags: ['Jobs'],
      security: bearerSecurity,
      summary: 'List jobs, newest first',
      description: "The caller's team's jobs; every team's for a key with `jobs:admin`.",
      querystring: Type.Object({
        kind: Type.Optional(Type.String({ maxLength: 64 })),
        status: Type.Optional(JobStatusSchema),
        label: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,63}:.{0,256}$' }), {
          maxItems: 16, description: 'key:value; repeat to require several labels'
        })),
        limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
        cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' }))
      }),
      response: { 200: JobListSchema, ...errorResponses(400, 401, 403) }
    }
  }, async (request) => {
    const { kind, status, label, limit, cursor } = request.query
    const before = cursor === undefined ? undefined : decodeCursor(cursor)
    const page = await app.jobs.list(request.actor, {
      kind,
      status,
      labels: label?.map((l) => { const at = l.indexOf(':'); return [l.slice(0, at), l.slice(at + 1)] as [string, string] }),
      limit,
      before: before === undefined ? undefined : { createdAt: before.c, id: before.i }
    })
    return { items: page.items, nextCursor: page.next === undefined ? null : encodeCursor({ c: page.next.createdAt, i: page.next.id }) }
  })

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
      }),
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
      await app.jobs.get(request.actor, id)
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
    schema: {
      tags: ['Jobs'],
      security: bearerSecurity,
      summary: 'Cancel a job',
      description: 'A queued or waiting job is cancelled at once (200). A running job is asked to stop at its next ' +
        'safe point (202, `cancelRequested: true`). A finished job cannot be cancelled (409).',
      params: JobIdParams,
      response: { 200: Type.Ref('Job'), 202: Type.Ref('Job'), ...errorResponses(401, 403, 404, 409) }
    }
  }, async (request, reply) => {
    const job = await app.jobs.cancel(request.actor, request.params.id)
    return reply.code(isTerminal(job.status) ? 200 : 202).send(job)
  })
}

export default routes
