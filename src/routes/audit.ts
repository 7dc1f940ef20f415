import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { badRequest } from '../errors.ts'
import { bearerSecurity, errorResponses } from '../schemas/common.ts'
import type { AuditFilter, AuditRow } from '../store/audit-repository.ts'

const toResource = (row: AuditRow) => ({
  seq: row.seq,
  id: row.id,
  at: new Date(row.at).toISOString(),
  event: row.event,
  jobId: row.jobId,
  kind: row.kind,
  actor: row.actor,
  details: JSON.parse(row.details) as Record<string, unknown>,
  prevHash: row.prevHash,
  hash: row.hash
})

const FilterQuery = {
  jobId: Type.Optional(Type.String({ maxLength: 64 })),
  kind: Type.Optional(Type.String({ maxLength: 64 })),
  event: Type.Optional(Type.String({ maxLength: 64, examples: ['job.failed'] })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Records at or after this instant' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Records before this instant' }))
}

function toFilter (query: { jobId?: string, kind?: string, event?: string, from?: string, to?: string }): AuditFilter {
  const from = query.from === undefined ? undefined : Date.parse(query.from)
  const to = query.to === undefined ? undefined : Date.parse(query.to)
  if (from !== undefined && to !== undefined && from >= to) throw badRequest('INVALID_INTERVAL', '`from` must be before `to`')
  return { jobId: query.jobId, kind: query.kind, event: query.event, from, to }
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/audit', {
    config: { scope: 'audit:read' },
    schema: {
      tags: ['Audit'],
      security: bearerSecurity,
      summary: 'Query audit records, newest first',
      querystring: Type.Object({
        ...FilterQuery,
        limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
        cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'nextCursor of the previous page' }))
      }),
      response: {
        200: Type.Object({ items: Type.Array(Type.Ref('AuditRecord')), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
        ...errorResponses(400, 401, 403)
      }
    }
  }, async (request) => {
    const { limit, cursor } = request.query
    const rows = await app.store.audit.query(toFilter(request.query), limit + 1, cursor === undefined ? undefined : Number(cursor))
    const page = rows.slice(0, limit)
    return { items: page.map(toResource), nextCursor: rows.length > limit ? String(page[page.length - 1]!.seq) : null }
  })

  app.get('/v1/audit/export', {
    config: { scope: 'audit:read' },
    schema: {
      tags: ['Audit'],
      security: bearerSecurity,
      summary: 'Export audit records as JSON Lines, oldest first',
      description: 'One record per line (`application/x-ndjson`), streamed, with the same filters as the query.',
      querystring: Type.Object(FilterQuery),
      produces: ['application/x-ndjson'],
      response: {
        200: { description: 'One audit record per line', content: { 'application/x-ndjson': { schema: Type.String() } } },
        ...errorResponses(400, 401, 403)
      }
    }
  }, async (request, reply) => {
    const records = app.store.audit.iterate(toFilter(request.query))
    const lines = Readable.from((async function * () {
      for await (const row of records) yield JSON.stringify(toResource(row)) + '\n'
    })())
    return reply.type('application/x-ndjson').header('content-disposition', 'attachment; filename="audit.jsonl"').send(lines as unknown as string)
  })

  app.get('/v1/audit/verify', {
    config: { scope: 'audit:read' },
    schema: {
      tags: ['Audit'],
      security: bearerSecurity,
      summary: 'Verify the hash chain',
      description: 'Recomputes every hash from the first record on and reports the first record that does not match.',
      response: {
        200: Type.Object({
          ok: Type.Boolean(),
          records: Type.Integer({ description: 'Records verified before the result' }),
          headHash: Type.Optional(Type.String()),
          broken: Type.Optional(Type.Object({
            seq: Type.Integer(),
            id: Type.Union([Type.String(), Type.Null()]),
            reason: Type.String({ examples: ['hash_mismatch', 'prev_hash_mismatch', 'sequence_gap', 'head_mismatch'] })
          }))
        })
      }
    }
  }, async () => await app.store.audit.verify())
}

export default routes
