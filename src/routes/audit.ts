import { Readable } from 'node:stream'
import { createSlices } from '../audit/slices.ts'
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

const EXPORT_PAGE = 1000
/** Lines are sent in chunks of about this many characters. */
const EXPORT_CHUNK = 64 * 1024

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
      }, { additionalProperties: false }),
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
      querystring: Type.Object(FilterQuery, { additionalProperties: false }),
      produces: ['application/x-ndjson'],
      response: {
        200: { description: 'One audit record per line', content: { 'application/x-ndjson': { schema: Type.String() } } },
        ...errorResponses(400, 401, 403)
      }
    }
  }, async (request, reply) => {
    const filter = toFilter(request.query)
    const store = app.store.audit
    // Page by page in constant memory, and in slices that yield to the event loop, so a long export
    // never holds up other requests.
    const lines = Readable.from((async function * () {
      const slices = createSlices()
      let after = 0
      for (;;) {
        await slices.yieldNow()
        const rows = await store.exportPage(filter, after, EXPORT_PAGE)
        let chunk = ''
        for (const row of rows) {
          chunk += JSON.stringify(toResource(row)) + '\n'
          if (chunk.length >= EXPORT_CHUNK) {
            yield chunk
            chunk = ''
            await slices.pause()
          }
        }
        if (chunk !== '') yield chunk
        if (rows.length < EXPORT_PAGE) return
        after = rows[rows.length - 1]!.seq
      }
    })(), { objectMode: false })
    return reply.type('application/x-ndjson').header('content-disposition', 'attachment; filename="audit.jsonl"').send(lines as unknown as string)
  })

  app.get('/v1/audit/verify', {
    config: { scope: 'audit:read' },
    schema: {
      tags: ['Audit'],
      security: bearerSecurity,
      summary: 'Verify the hash chain',
      description: 'Recomputes every hash of the records kept in the database, from the checkpoint left by archiving (or from the ' +
        'first record when nothing was archived) to the newest, and reports the first record that does not match. Archived records ' +
        'are verified offline with `npm run audit:verify -- <archive files>`. One verification runs at a time per process: another ' +
        'request meanwhile is answered `429` with `Retry-After`.',
      response: {
        200: Type.Object({
          ok: Type.Boolean(),
          records: Type.Integer({ description: 'Records verified before the result, after the checkpoint' }),
          headHash: Type.Optional(Type.String()),
          checkpoint: Type.Union([Type.Object({
            seq: Type.Integer({ description: 'Every record up to this one is archived; the chain continues from its hash' }),
            hash: Type.String(),
            at: Type.String({ format: 'date-time', description: 'When the records were archived' }),
            file: Type.String({ description: 'The archive file holding the newest archived records' })
          }), Type.Null()], { description: 'Where verification started: null when nothing was archived (it started at record 1)' }),
          broken: Type.Optional(Type.Object({
            seq: Type.Integer(),
            id: Type.Union([Type.String(), Type.Null()]),
            reason: Type.String({ examples: ['hash_mismatch', 'prev_hash_mismatch', 'sequence_gap', 'head_mismatch', 'unexpected_checkpoint'] })
          }))
        }),
        ...errorResponses(401, 403, 429)
      }
    }
  }, async () => {
    const result = await app.auditLog.verify()
    const { checkpoint, ...rest } = result
    return {
      ...rest,
      checkpoint: checkpoint === null ? null : { seq: checkpoint.seq, hash: checkpoint.hash, at: new Date(checkpoint.at).toISOString(), file: checkpoint.details.file }
    }
  })
}

export default routes
