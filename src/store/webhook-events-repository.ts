import type { Selectable } from 'kysely'
import type { Connection, WebhookEventsTable } from './schema.ts'

export type WebhookEventRow = Selectable<WebhookEventsTable>

/** Every accepted inbound event, once per `(source, eventId)`. */
export function createWebhookEventsRepository (db: Connection) {
  return {
    /** Stores a new event; false when this `(source, eventId)` was stored before (a repeat). */
    async record (event: Omit<WebhookEventRow, 'jobId'>): Promise<boolean> {
      const inserted = await db.insertInto('webhookEvents').values({ ...event, jobId: null })
        .onConflict((oc) => oc.columns(['source', 'eventId']).doNothing()).returning('eventId').executeTakeFirst()
      return inserted !== undefined
    },

    async find (source: string, eventId: string): Promise<WebhookEventRow | undefined> {
      return await db.selectFrom('webhookEvents').selectAll()
        .where('source', '=', source).where('eventId', '=', eventId).executeTakeFirst()
    },

    /** Notes which job the event was for. */
    async attach (source: string, eventId: string, jobId: string): Promise<void> {
      await db.updateTable('webhookEvents').set({ jobId }).where('source', '=', source).where('eventId', '=', eventId).execute()
    },

    /** The newest payload from `source` for the job, if any. */
    async latestPayload (jobId: string, source: string): Promise<Record<string, unknown> | undefined> {
      const hit = await db.selectFrom('webhookEvents').select('payload')
        .where('jobId', '=', jobId).where('source', '=', source).orderBy('receivedAt', 'desc').executeTakeFirst()
      return hit === undefined ? undefined : JSON.parse(hit.payload) as Record<string, unknown>
    }
  }
}

export type WebhookEventsRepository = ReturnType<typeof createWebhookEventsRepository>
