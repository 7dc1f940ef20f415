import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database } from './schema.ts'

type Db = Kysely<Database>

export interface CallbackMessage {
  jobId: string
  eventType: string
  url: string
  payload: unknown
}

/** Completion callbacks are written in the same transaction as the job's terminal state. */
export function createOutboxRepository () {
  return {
    async enqueue (trx: Db, message: CallbackMessage, now: number): Promise<string> {
      const id = `evt_${randomUUID()}`
      await trx.insertInto('callbackOutbox').values({
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
    }
  }
}

export type OutboxRepository = ReturnType<typeof createOutboxRepository>
