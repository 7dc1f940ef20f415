import type { Selectable } from 'kysely'
import type { Connection, JobEventsTable } from './schema.ts'
import { precompiledInsert } from './precompiled.ts'

const insertEvent = precompiledInsert('jobEvents')

export type JobEventRow = Selectable<JobEventsTable>

/** A job's timeline. */
export function createEventsRepository (db: Connection) {
  return {
    async append (jobId: string, type: string, data: Record<string, unknown>, at: number): Promise<void> {
      await insertEvent(db, { jobId, type, at, data: JSON.stringify(data) })
    },

    async list (jobId: string, afterSeq: number, limit: number): Promise<JobEventRow[]> {
      return await db.selectFrom('jobEvents').selectAll()
        .where('jobId', '=', jobId).where('seq', '>', afterSeq)
        .orderBy('seq').limit(limit).execute()
    }
  }
}

export type EventsRepository = ReturnType<typeof createEventsRepository>
