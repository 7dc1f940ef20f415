import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { badRequest } from '../errors.ts'
import { bearerSecurity, errorResponses } from '../schemas/common.ts'
import { CreateScheduleBody, PatchScheduleBody } from '../schemas/schedule.ts'

const ScheduleIdParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'The schedule id' }) })

const encodeCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
function decodeCursor<T> (raw: string, valid: (v: unknown) => v is T): T {
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown
    if (valid(parsed)) return parsed
  } catch {}
  throw badRequest('INVALID_CURSOR', 'cursor is not one this service issued; pass nextCursor from the previous page unchanged')
}
const isListCursor = (v: unknown): v is { c: number, i: string } => typeof (v as { c?: unknown })?.c === 'number' && typeof (v as { i?: unknown })?.i === 'string'
const isRunsCursor = (v: unknown): v is { t: number } => typeof (v as { t?: unknown })?.t === 'number'

const EXAMPLE = {
  name: 'daily-queue-report',
  cron: '0 6 * * *',
  timeZone: 'Europe/London',
  kind: 'routing-evaluation',
  body: { queueIds: ['dda9caa0-28d0-437d-a6d5-345ba693f4f3', 'a4bc550b-9970-431e-9036-defab953b8c0'], interval: { previous: 'day' }, granularity: 'PT1H' },
  callbackUrl: 'https://bi.example.com/hooks/queue-report',
  overlap: 'skip',
  catchUp: 'latest',
  enabled: true
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/v1/schedules', {
    config: { scope: 'schedules:write' },
    schema: {
      tags: ['Schedules'],
      security: bearerSecurity,
      summary: 'Create a schedule',
      description: "Each tick of `cron` (read in `timeZone`) makes one job of `kind` with `body`, the schedule's `labels` and " +
        "`callbackUrl`, in the caller's team, however many replicas run. The body is checked now as a submission would be; " +
        'a bad cron is a 400 that names the field.',
      body: { ...CreateScheduleBody, examples: [EXAMPLE] },
      response: {
        201: { description: 'Created', ...Type.Ref('Schedule') },
        ...errorResponses(400, 401, 403, 409)
      }
    }
  }, async (request, reply) => {
    const schedule = await app.schedules.create(request.actor, request.body)
    return reply.code(201).header('location', `/v1/schedules/${schedule.id}`).send(schedule)
  })

  app.get('/v1/schedules', {
    config: { scope: 'schedules:read' },
    schema: {
      tags: ['Schedules'],
      security: bearerSecurity,
      summary: 'List schedules, newest first',
      description: "The caller's team's schedules; every team's for a key that also has `jobs:admin`.",
      querystring: Type.Object({
        limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
        cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' }))
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({ items: Type.Array(Type.Ref('Schedule')), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
        ...errorResponses(400, 401, 403)
      }
    }
  }, async (request) => {
    const before = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor, isListCursor)
    const page = await app.schedules.list(request.actor, { limit: request.query.limit, before: before === undefined ? undefined : { createdAt: before.c, id: before.i } })
    return { items: page.items, nextCursor: page.next === undefined ? null : encodeCursor({ c: page.next.createdAt, i: page.next.id }) }
  })

  app.get('/v1/schedules/:id', {
    config: { scope: 'schedules:read' },
    schema: {
      tags: ['Schedules'],
      security: bearerSecurity,
      summary: 'Read a schedule',
      params: ScheduleIdParams,
      response: { 200: Type.Ref('Schedule'), ...errorResponses(400, 401, 403, 404) }
    }
  }, async (request) => await app.schedules.get(request.actor, request.params.id))

  app.patch('/v1/schedules/:id', {
    config: { scope: 'schedules:write' },
    schema: {
      tags: ['Schedules'],
      security: bearerSecurity,
      summary: 'Change a schedule',
      description: 'Changes the fields given; the schedule is checked again as a whole. A new cron or time zone, or enabling it, ' +
        'moves its next tick to the first one after now (ticks while it was disabled are not missed ticks).',
      params: ScheduleIdParams,
      body: PatchScheduleBody,
      response: { 200: Type.Ref('Schedule'), ...errorResponses(400, 401, 403, 404, 409) }
    }
  }, async (request) => await app.schedules.update(request.actor, request.params.id, request.body))

  app.delete('/v1/schedules/:id', {
    config: { scope: 'schedules:write' },
    schema: {
      tags: ['Schedules'],
      security: bearerSecurity,
      summary: 'Delete a schedule',
      description: 'It makes no more jobs and the record of its ticks goes; the jobs it made stay.',
      params: ScheduleIdParams,
      response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 401, 403, 404) }
    }
  }, async (request, reply) => {
    await app.schedules.remove(request.actor, request.params.id)
    return reply.code(204).send(null)
  })

  app.get('/v1/schedules/:id/runs', {
    config: { scope: 'schedules:read' },
    schema: {
      tags: ['Schedules'],
      security: bearerSecurity,
      summary: "A schedule's ticks, newest first",
      description: 'Every tick handled: the job it made (`created`), or why it made none (`skipped` while the previous run was ' +
        'unfinished, `missed` while no replica ran, `failed` when the job could not be made).',
      params: ScheduleIdParams,
      querystring: Type.Object({
        limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
        cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' }))
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({ items: Type.Array(Type.Ref('ScheduleRun')), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
        ...errorResponses(400, 401, 403, 404)
      }
    }
  }, async (request) => {
    const before = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor, isRunsCursor)
    const page = await app.schedules.runs(request.actor, request.params.id, request.query.limit, before?.t)
    return { items: page.items, nextCursor: page.next === undefined ? null : encodeCursor({ t: page.next }) }
  })

  app.post('/v1/schedules/:id/run', {
    config: { scope: 'schedules:write' },
    schema: {
      tags: ['Schedules'],
      security: bearerSecurity,
      summary: "Run a schedule's job now",
      description: 'Makes the job a tick would make, now, whatever the cron and overlap say (to try a schedule out); it is ' +
        "recorded among the schedule's runs and belongs to the schedule's team.",
      params: ScheduleIdParams,
      response: {
        202: { description: 'Accepted; the job runs in the background', ...Type.Ref('Job') },
        ...errorResponses(400, 401, 403, 404, 409)
      }
    }
  }, async (request, reply) => {
    const job = await app.schedules.runNow(request.actor, request.params.id)
    return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job)
  })
}

export default routes
