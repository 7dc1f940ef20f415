import type { FastifyInstance } from 'fastify'
import { platformError } from './errors.ts'
import { QUEUE_FIXTURES } from './fixtures.ts'
import { allOf, entityListing, positiveInt } from './listing.ts'

const BASE = '/api/v2/routing/queues'
const DIVISION = { id: '2c9e7a3b-5d4f-4e61-8a90-1b2c3d4e5f70', name: 'Home', selfUri: '/api/v2/authorization/divisions/2c9e7a3b-5d4f-4e61-8a90-1b2c3d4e5f70' }

/** Each fixture queue's name as an org would show it. */
export const QUEUE_NAMES: Readonly<Record<string, string>> = {
  support: 'Support',
  sales: 'Sales',
  billing: 'Billing',
  retention: 'Retention',
  technical: 'Technical Support'
}

const queueView = (q: typeof QUEUE_FIXTURES[number]) => ({
  id: q.id,
  name: QUEUE_NAMES[q.name]!,
  division: DIVISION,
  description: `Sandbox queue ${q.name}`,
  dateCreated: '2026-01-05T09:30:00.000Z',
  memberCount: 4 + q.index,
  joinedMemberCount: 2 + q.index,
  mediaSettings: {},
  skillEvaluationMethod: 'BEST',
  selfUri: `${BASE}/${q.id}`
})

/** `name` matches exactly, or with a leading and/or trailing `*` as a wildcard; case does not count. */
function nameMatches (pattern: string, name: string): boolean {
  const lower = name.toLowerCase()
  const p = pattern.toLowerCase()
  const starts = p.endsWith('*')
  const ends = p.startsWith('*')
  const core = p.replace(/^\*/, '').replace(/\*$/, '')
  if (starts && ends) return lower.includes(core)
  if (starts) return lower.startsWith(core)
  if (ends) return lower.endsWith(core)
  return lower === core
}

type Query = Record<string, string | string[] | undefined>

/**
 * `GET /api/v2/routing/queues`: `id` (repeatable), `name`, `divisionId` (repeatable) filter; sorted
 * by name; paged from 1 (`pageSize` 25 by default) with Genesys's entity listing.
 */
export function listQueues (query: Query): { error: { field: string, message: string } } | { listing: Record<string, unknown> } {
  const ids = allOf(query.id)
  const divisions = allOf(query.divisionId)
  const name = typeof query.name === 'string' ? query.name : undefined
  const pageSize = positiveInt(query.pageSize, 25)
  const pageNumber = positiveInt(query.pageNumber, 1)
  if (pageSize === undefined) return { error: { field: 'pageSize', message: 'pageSize must be a positive integer' } }
  if (pageNumber === undefined) return { error: { field: 'pageNumber', message: 'pageNumber must be a positive integer' } }
  const matching = QUEUE_FIXTURES.map(queueView)
    .filter((q) => ids.length === 0 || ids.includes(q.id))
    .filter((q) => divisions.length === 0 || divisions.includes(q.division.id))
    .filter((q) => name === undefined || nameMatches(name, q.name))
    .toSorted((a, b) => a.name.localeCompare(b.name))
  const uri = (n: number) => {
    const params = new URLSearchParams()
    for (const id of ids) params.append('id', id)
    for (const d of divisions) params.append('divisionId', d)
    if (name !== undefined) params.set('name', name)
    params.set('pageSize', String(pageSize))
    params.set('pageNumber', String(n))
    return `${BASE}?${params}`
  }
  return { listing: entityListing(matching, pageNumber, pageSize, uri) }
}

/** Routing queues, read-only: the five fixture queues the analytics data is about. */
export function createRouting () {
  const routes = async function (app: FastifyInstance): Promise<void> {
    app.get(BASE, async (request, reply) => {
      const answer = listQueues(request.query as Query)
      if ('error' in answer) return await platformError(reply, 400, 'bad.request', answer.error.message, { details: [{ fieldName: answer.error.field }] })
      return answer.listing
    })

    app.get<{ Params: { queueId: string } }>(`${BASE}/:queueId`, async (request, reply) => {
      const queue = QUEUE_FIXTURES.find((q) => q.id === request.params.queueId)
      if (queue === undefined) return await platformError(reply, 404, 'not.found', `Queue ${request.params.queueId} not found`, { entityId: request.params.queueId })
      return queueView(queue)
    })
  }
  return { routes }
}
