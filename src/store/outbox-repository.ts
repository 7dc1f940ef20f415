import { randomUUID } from 'node:crypto'
import type { Selectable, Updateable } from 'kysely'
import type { CallbackOutboxTable, Connection, DialectName } from './schema.ts'

export type OutboxRow = Selectable<CallbackOutboxTable>
export type OutboxPatch = Omit<Updateable<CallbackOutboxTable>, 'id'>

export interface CallbackMessage {
  jobId: string
  eventType: string
  url: string
  payload: unknown
}

/** Completion callbacks, written in the same transaction as the job's terminal state. */
export function createOutboxRepository (db: Connection, dialect: DialectName) {
  return {
    async enqueue (message: CallbackMessage, now: number): Promise<string> {
      const id = `evt_${randomUUID()}`
      await db.insertInto('callbackOutbox').values({
        id,
        jobId: message.jobId,
        eventType: message.eventType,
        url: message.url,
        payload: JSON.stringify(message.payload),
        status: 'pending',
        attempts: 0,
        nextAttemptAt: now,
        lastError: null,
        createdAt: now,
        deliveredAt: null
      }).execute()
      return id
    },

    /**
     * Takes one due message and pushes its next attempt past the lease, in one statement
     * (`UPDATE … WHERE id = (SELECT … LIMIT 1)`, with `FOR UPDATE SKIP LOCKED` on PostgreSQL):
     * another replica will not send it meanwhile, and a crashed sender's message falls due again.
     * `exclude`: messages this process is still attempting (one whose record waits for the
     * database to take writes again may outlast its lease), which it must not send twice.
     */
    async claimDue (now: number, leaseMs: number, exclude: readonly string[] = []): Promise<OutboxRow | undefined> {
      return await db.updateTable('callbackOutbox')
        .set({ nextAttemptAt: now + leaseMs })
        .where('id', '=', (eb) => eb.selectFrom('callbackOutbox').select('id')
          .where('status', '=', 'pending').where('nextAttemptAt', '<=', now)
          .$if(exclude.length > 0, (q) => q.where('id', 'not in', exclude))
          .orderBy('nextAttemptAt').limit(1)
          .$if(dialect === 'postgres', (q) => q.forUpdate().skipLocked()))
        .returningAll()
        .executeTakeFirst()
    },

    async nextDueAt (): Promise<number | undefined> {
      const row = await db.selectFrom('callbackOutbox').select((eb) => eb.fn.min<number | null>('nextAttemptAt').as('due'))
        .where('status', '=', 'pending').executeTakeFirst()
      return row?.due ?? undefined
    },

    async update (id: string, patch: OutboxPatch): Promise<void> {
      await db.updateTable('callbackOutbox').set(patch).where('id', '=', id).execute()
    },

    async forJob (jobId: string): Promise<OutboxRow[]> {
      return await db.selectFrom('callbackOutbox').selectAll().where('jobId', '=', jobId).orderBy('createdAt').execute()
    }
  }
}

export type OutboxRepository = ReturnType<typeof createOutboxRepository>
