import type { Kysely, Selectable } from 'kysely'
import type { Database, JobEventsTable } from './schema.ts'

type Db = Kysely<Database>
export type JobEventRow = Selectable<JobEventsTable>

export function createEventsRepository (db: Db) {
  return {
    async append (trx: Db, jobId: string, type: string, data: Record<string, unknown>, at: number): Promise<void> {
      await trx.insertInto('jobEvents').values({ jobId, type, at, data: JSON.stringify(data) }).execute()
    },

    async list (jobId: string, afterSeq: number, limit: number): Promise<JobEventRow[]> {
      return await db.selectFrom('jobEvents').selectAll()
        .where('jobId', '=', jobId).where('seq', '>', afterSeq)
        .orderBy('seq').limit(limit).execute()
    }
  }
}

export type EventsRepository = ReturnType<typeof createEventsRepository>
