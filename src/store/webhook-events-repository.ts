import type { Selectable } from 'kysely'
import type { Connection, WebhookEventsTable } from './schema.ts'
import { precompiled, precompiledInsert } from './precompiled.ts'

const insertEvent = precompiledInsert('webhookEvents', (q) => q.onConflict((oc: any) => oc.columns(['source', 'eventId']).doNothing()).returning('eventId'))
const attachEvent = precompiled<[string, string, string]>(3, (db, jobId, source, eventId) =>
  db.updateTable('webhookEvents').set({ jobId }).where('source', '=', source!).where('eventId', '=', eventId!))

export type WebhookEventRow = Selectable<WebhookEventsTable>

/** Every accepted inbound event, once per `(source, eventId)`. */
export function createWebhookEventsRepository (db: Connection) {
  return {
    /** Stores a new event; false when this `(source, eventId)` was stored before (a repeat). */
    async record (event: Omit<WebhookEventRow, 'jobId'>): Promise<boolean> {
      const inserted = await insertEvent(db, { ...event, jobId: null })
      return inserted.rows.length > 0
    },

    async find (source: string, eventId: string): Promise<WebhookEventRow | undefined> {
      return await db.selectFrom('webhookEvents').selectAll()
        .where('source', '=', source).where('eventId', '=', eventId).executeTakeFirst()
    },

    /** Notes which job the event was for. */
    async attach (source: string, eventId: string, jobId: string): Promise<void> {
      await attachEvent.run(db, jobId, source, eventId)
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
