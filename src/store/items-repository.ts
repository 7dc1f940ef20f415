import type { Connection } from './schema.ts'

/** Per-item results of long steps (LLM dataset rows), by index. */
export function createItemsRepository (db: Connection) {
  return {
    /** An item recorded once is kept: saving the same index again changes nothing. */
    async save (jobId: string, items: ReadonlyArray<{ index: number, data: unknown }>): Promise<void> {
      if (items.length === 0) return
      await db.insertInto('jobItems').values(items.map((i) => ({ jobId, idx: i.index, data: JSON.stringify(i.data) })))
        .onConflict((oc) => oc.columns(['jobId', 'idx']).doNothing()).execute()
    },

    async load (jobId: string): Promise<Map<number, unknown>> {
      const rows = await db.selectFrom('jobItems').select(['idx', 'data']).where('jobId', '=', jobId).execute()
      return new Map(rows.map((r) => [r.idx, JSON.parse(r.data) as unknown]))
    }
  }
}

export type ItemsRepository = ReturnType<typeof createItemsRepository>
