import type { GenesysRequester } from './client.ts'

/** A queue as `GET /api/v2/routing/queues` lists it (the fields this service reads). */
export interface Queue {
  id: string
  name?: string
  division?: { id?: string, name?: string }
}

/** Genesys's paged entity listing of queues. */
export interface QueueEntityListing {
  entities?: Queue[]
  pageNumber?: number
  pageSize?: number
  total?: number
  pageCount?: number
}

/** Ids per request: the query string stays well under URL length limits (about 2 KB), and one page holds the batch. */
export const QUEUE_ID_BATCH = 50

/** Routing queues (`routing:queue:view`). */
export function routingApi (client: GenesysRequester) {
  async function listQueues (query: { ids: readonly string[], pageNumber: number, pageSize: number }, signal?: AbortSignal): Promise<QueueEntityListing> {
    const params = new URLSearchParams()
    for (const id of query.ids) params.append('id', id)
    params.set('pageSize', String(query.pageSize))
    params.set('pageNumber', String(query.pageNumber))
    return (await client.request<QueueEntityListing>({ name: 'routing.listQueues', method: 'GET', repeat: 'safe', path: '/api/v2/routing/queues', searchParams: params, signal })).body
  }

  return {
    listQueues,

    /**
     * The queues with these ids that Genesys knows, read in batches of QUEUE_ID_BATCH ids, every page
     * of each batch; an id it does not know is simply absent.
     */
    async queuesById (ids: readonly string[], signal?: AbortSignal): Promise<Map<string, Queue>> {
      const found = new Map<string, Queue>()
      for (let at = 0; at < ids.length; at += QUEUE_ID_BATCH) {
        const batch = ids.slice(at, at + QUEUE_ID_BATCH)
        for (let page = 1; ; page++) {
          const listing = await listQueues({ ids: batch, pageNumber: page, pageSize: QUEUE_ID_BATCH }, signal)
          for (const queue of listing.entities ?? []) found.set(queue.id, queue)
          if (page >= (listing.pageCount ?? 1) || (listing.entities ?? []).length === 0) break
        }
      }
      return found
    }
  }
}
