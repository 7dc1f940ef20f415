import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { stringify } from 'csv-stringify'
import { Type, type TSchema } from 'typebox'
import { bearerSecurity, errorResponses } from '../schemas/common.ts'
import type { Cell } from '../jobs/kind.ts'
import type { Export } from '../jobs/items.ts'

const JobIdParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'The job id' }) })
const PairParams = Type.Object({
  id: Type.String({ format: 'uuid', description: 'This run' }),
  otherId: Type.String({ format: 'uuid', description: 'The run to compare it with' })
})

const Cursor = Type.Optional(Type.String({
  pattern: '^\\d{1,9}$',
  'x-expected': 'the nextCursor of the previous page, unchanged',
  'x-error-code': 'INVALID_CURSOR',
  description: 'nextCursor of the previous page'
}))

const Format = (formats: string[], description: string) => Type.Optional(Type.Enum(formats, { 'x-error-code': 'FORMAT_UNKNOWN', description }))

const CSV = 'text/csv; charset=utf-8'
const JSONL = 'application/x-ndjson'

/** A cell as CSV writes it: empty for nothing, JSON for anything that is not text or a number. */
const cell = (value: Cell): string | number | boolean => (value === null || value === undefined ? '' : value)

/** Streams `rows` as CSV with a header line (RFC 4180 quoting by csv-stringify). */
function sendCsv (reply: FastifyReply, filename: string, columns: string[], rows: AsyncIterable<Cell[]> | Iterable<Cell[]>): FastifyReply {
  const csv = stringify({ header: true, columns, cast: { boolean: (b) => (b ? 'true' : 'false') } })
  void Readable.from((async function * () { for await (const row of rows) yield row.map(cell) })(), { objectMode: true }).pipe(csv)
  return reply.type(CSV).header('content-disposition', `attachment; filename="${filename}"`).send(csv)
}

function sendExport<R> (reply: FastifyReply, format: 'csv' | 'jsonl', filename: string, exported: Export<R>): FastifyReply {
  if (format === 'csv') {
    const columns = exported.table.columns
    return sendCsv(reply, `${filename}.csv`, columns.map((c) => c.name), (async function * () {
      for await (const row of exported.rows) yield columns.map((c) => c.value(row))
    })())
  }
  const lines = Readable.from((async function * () { for await (const row of exported.rows) yield JSON.stringify(row) + '\n' })())
  return reply.type(JSONL).header('content-disposition', `attachment; filename="${filename}.jsonl"`).send(lines)
}

const ItemsPage = (item: TSchema) => Type.Object({
  jobId: Type.String(),
  kind: Type.String(),
  status: Type.String({ description: 'The job\'s status: rows are listed while it runs too' }),
  total: Type.Union([Type.Integer(), Type.Null()], { description: 'Rows in the dataset' }),
  counts: Type.Record(Type.String(), Type.Integer(), { description: 'Rows recorded so far per outcome' }),
  items: Type.Array(item),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page' })
})

const FigureSchema = Type.Object({
  this: Type.Union([Type.Number(), Type.Null()]),
  other: Type.Union([Type.Number(), Type.Null()]),
  delta: Type.Union([Type.Number(), Type.Null()], { description: 'other − this' })
})

const ComparisonSchema = (item: TSchema) => Type.Object({
  jobId: Type.String(),
  otherJobId: Type.String(),
  figures: Type.Record(Type.String(), FigureSchema, {
    description: 'Each figure in both runs and the difference: an LLM evaluation compares completedRows, accuracy, errorRate, ' +
      'latencyP50Ms, latencyP95Ms, hallucination_rate and toxicity_score'
  }),
  outcomeChanges: Type.Array(Type.Object({ from: Type.String(), to: Type.String(), count: Type.Integer() }), {
    description: 'How many rows went from each outcome in this run to another in the other run'
  }),
  items: Type.Array(Type.Object({
    index: Type.Integer(),
    outcome: Type.String({ description: 'In this run' }),
    otherOutcome: Type.String({ description: 'In the other run' }),
    item,
    otherItem: item
  }), { description: 'The rows that flipped (match in one run, mismatch in the other), in row order' }),
  nextCursor: Type.Union([Type.String(), Type.Null()])
})

/**
 * What a job produced, beyond the job itself: every item (LLM dataset rows) page by page or
 * exported, two runs compared, and the result alone or as a table. Visibility is the job's: another
 * team's job answers 404 JOB_NOT_FOUND, as `GET /v1/jobs/{id}` does.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const withItems = [...app.jobs.kinds.values()].filter((k) => k.items !== undefined)
  // One item schema per kind that records items, named for OpenAPI (`LlmEvaluationItem`).
  const itemSchemaIds = withItems.map((k) => {
    const $id = `${k.name.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}Item`
    app.addSchema({ ...k.items!.schema, $id })
    return $id
  })
  const Item = itemSchemaIds.length === 1 ? Type.Ref(itemSchemaIds[0]!) : Type.Union(itemSchemaIds.map((id) => Type.Ref(id)))
  const outcomes = [...new Set(withItems.flatMap((k) => k.items!.outcomes))]
  const itemKinds = withItems.map((k) => k.name).join(', ') || 'none'

  app.get('/v1/jobs/:id/items', {
    config: { scope: 'jobs:read' },
    schema: {
      tags: ['Results'],
      security: bearerSecurity,
      summary: "Every row of a job's work (LLM evaluation rows)",
      description: `Each recorded item in index order (kinds that record them: ${itemKinds}). For an LLM evaluation (data-action engine): ` +
        'the row, the prompt as sent (masked when masking was on), expected output, output, `match`, latency, judge scores, error. ' +
        'Filter with `outcome`, page with `cursor` and `limit`. `format=csv` or `format=jsonl` streams the whole set (with the same ' +
        'filter) instead of a page. Rows are listed while the job runs. A gateway-engine evaluation has no rows: the LLM Gateway ' +
        'reports aggregate metrics only, and the answer (409 ITEMS_NOT_AVAILABLE) says so.',
      params: JobIdParams,
      querystring: Type.Object({
        outcome: Type.Optional(Type.Enum(outcomes.length > 0 ? outcomes : ['none'], { 'x-error-code': 'OUTCOME_UNKNOWN', description: 'Only rows with this outcome' })),
        cursor: Cursor,
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        format: Format(['json', 'csv', 'jsonl'], '`csv` or `jsonl`: every row (of the outcome asked for) as a download, not a page')
      }, { additionalProperties: false }),
      produces: ['application/json', CSV, JSONL],
      response: { 200: ItemsPage(Item), ...errorResponses(400, 401, 403, 404, 409) }
    }
  }, async (request, reply) => {
    const { id } = request.params
    const { outcome, cursor, limit, format } = request.query
    if (format === 'csv' || format === 'jsonl') {
      return sendExport(reply, format, `job-${id}-items${outcome === undefined ? '' : `-${outcome}`}`, await app.jobs.items.export(request.actor, id, { outcome }))
    }
    return await app.jobs.items.list(request.actor, id, { outcome, cursor, limit })
  })

  app.get('/v1/jobs/:id/compare/:otherId', {
    config: { scope: 'jobs:read' },
    schema: {
      tags: ['Results'],
      security: bearerSecurity,
      summary: 'Compare two runs of one dataset',
      description: 'Two LLM evaluations (data-action engine) of the same dataset (the same prompts, by index and text; otherwise 409 ' +
        'RUNS_NOT_COMPARABLE saying why): accuracy, error rate, latency p50/p95 and judge metrics in both and their deltas ' +
        '(other − this), how many rows moved between outcomes, and the rows that flipped (match in one run, mismatch in the ' +
        'other), paged. `format=csv` downloads every flipped row.',
      params: PairParams,
      querystring: Type.Object({
        cursor: Cursor,
        limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        format: Format(['json', 'csv'], '`csv`: every flipped row as a download')
      }, { additionalProperties: false }),
      produces: ['application/json', CSV],
      response: { 200: ComparisonSchema(Item), ...errorResponses(400, 401, 403, 404, 409) }
    }
  }, async (request, reply) => {
    const { id, otherId } = request.params
    const { cursor, limit, format } = request.query
    if (format === 'csv') return sendExport(reply, 'csv', `compare-${id}-${otherId}`, await app.jobs.items.exportFlips(request.actor, id, otherId))
    return await app.jobs.items.compare(request.actor, id, otherId, { cursor, limit })
  })

  app.get('/v1/jobs/:id/result', {
    config: { scope: 'jobs:read' },
    serializerCompiler: () => (data: unknown) => JSON.stringify(data),
    schema: {
      tags: ['Results'],
      security: bearerSecurity,
      summary: "A job's result alone, or as a table",
      description: 'The result as JSON (409 RESULT_NOT_READY while there is none). `format=csv` gives it as the table a spreadsheet ' +
        `opens, for kinds whose result is one (${[...app.jobs.kinds.values()].filter((k) => k.resultTable !== undefined).map((k) => k.name).join(', ') || 'none'}): ` +
        'a routing evaluation has a line per queue (rank, id, name, score, percentile rank, each KPI) and, with a granularity, a ' +
        'line per queue and interval.',
      params: JobIdParams,
      querystring: Type.Object({ format: Format(['json', 'csv'], '`csv`: the result as a table') }, { additionalProperties: false }),
      produces: ['application/json', CSV],
      response: { 200: Type.Unknown({ description: "The job's result (its kind's result schema: see the kind's job schema)" }), ...errorResponses(400, 401, 403, 404, 409) }
    }
  }, async (request, reply) => {
    const { id } = request.params
    if (request.query.format === 'csv') {
      const table = await app.jobs.resultTable(request.actor, id)
      return sendCsv(reply, `job-${id}-result.csv`, table.columns, table.rows)
    }
    return await app.jobs.result(request.actor, id)
  })
}

export default routes
