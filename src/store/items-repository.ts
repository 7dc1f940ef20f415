import type { Connection } from './schema.ts'

/** One stored item: its index, its data as the kind saved it, and its outcome (null before migration 0009). */
export interface StoredItem {
  index: number
  data: unknown
  outcome: string | null
}

/** An item present in two jobs (same index) whose outcomes differ, with both jobs' data. */
export interface ItemPair {
  index: number
  outcome: string | null
  data: unknown
  otherOutcome: string | null
  otherData: unknown
}

const BATCH = 500

const toStored = (r: { idx: number, data: string, outcome: string | null }): StoredItem => ({ index: r.idx, data: JSON.parse(r.data) as unknown, outcome: r.outcome })

/** Per-item results of long steps (LLM dataset rows), by index, each with the outcome its kind named. */
export function createItemsRepository (db: Connection) {
  return {
    /** An item recorded once is kept: saving the same index again changes nothing. */
    async save (jobId: string, items: ReadonlyArray<{ index: number, data: unknown, outcome?: string }>): Promise<void> {
      if (items.length === 0) return
      await db.insertInto('jobItems').values(items.map((i) => ({ jobId, idx: i.index, data: JSON.stringify(i.data), outcome: i.outcome ?? null })))
        .onConflict((oc) => oc.columns(['jobId', 'idx']).doNothing()).execute()
    },

    async load (jobId: string): Promise<Map<number, unknown>> {
      const rows = await db.selectFrom('jobItems').select(['idx', 'data']).where('jobId', '=', jobId).execute()
      return new Map(rows.map((r) => [r.idx, JSON.parse(r.data) as unknown]))
    },

    /** Items after index `after` (−1: from the start), in index order, optionally of one outcome only. */
    async page (jobId: string, options: { after: number, limit: number, outcome?: string }): Promise<StoredItem[]> {
      let query = db.selectFrom('jobItems').select(['idx', 'data', 'outcome']).where('jobId', '=', jobId).where('idx', '>', options.after)
      if (options.outcome !== undefined) query = query.where('outcome', '=', options.outcome)
      return (await query.orderBy('idx').limit(options.limit).execute()).map(toStored)
    },

    /** Every item (of one outcome, when given), in index order, read a batch at a time. */
    async * iterate (jobId: string, options: { outcome?: string } = {}): AsyncGenerator<StoredItem> {
      let after = -1
      for (;;) {
        let query = db.selectFrom('jobItems').select(['idx', 'data', 'outcome']).where('jobId', '=', jobId).where('idx', '>', after)
        if (options.outcome !== undefined) query = query.where('outcome', '=', options.outcome)
        const rows = await query.orderBy('idx').limit(BATCH).execute()
        for (const row of rows) yield toStored(row)
        if (rows.length < BATCH) return
        after = rows[rows.length - 1]!.idx
      }
    },

    /** How many items each outcome has (items without one are counted under null). */
    async countByOutcome (jobId: string): Promise<Array<{ outcome: string | null, count: number }>> {
      const rows = await db.selectFrom('jobItems').select(['outcome', (eb) => eb.fn.countAll<number>().as('n')])
        .where('jobId', '=', jobId).groupBy('outcome').execute()
      return rows.map((r) => ({ outcome: r.outcome, count: Number(r.n) }))
    },

    /** Items saved before outcomes were recorded (migration 0009), a batch at a time. */
    async withoutOutcome (jobId: string, limit = BATCH): Promise<StoredItem[]> {
      return (await db.selectFrom('jobItems').select(['idx', 'data', 'outcome']).where('jobId', '=', jobId).where('outcome', 'is', null)
        .orderBy('idx').limit(limit).execute()).map(toStored)
    },

    /** Records the outcome of items saved without one. */
    async setOutcomes (jobId: string, outcomes: ReadonlyArray<{ index: number, outcome: string }>): Promise<void> {
      for (const { index, outcome } of outcomes) {
        await db.updateTable('jobItems').set({ outcome }).where('jobId', '=', jobId).where('idx', '=', index).where('outcome', 'is', null).execute()
      }
    },

    /** For each pair of outcomes, how many indexes have the first in `jobId` and the second in `otherId`. */
    async outcomePairs (jobId: string, otherId: string): Promise<Array<{ outcome: string | null, otherOutcome: string | null, count: number }>> {
      const rows = await db.selectFrom('jobItems as a')
        .innerJoin('jobItems as b', (join) => join.onRef('b.idx', '=', 'a.idx').on('b.jobId', '=', otherId))
        .select(['a.outcome as outcome', 'b.outcome as otherOutcome', (eb) => eb.fn.countAll<number>().as('n')])
        .where('a.jobId', '=', jobId)
        .groupBy(['a.outcome', 'b.outcome'])
        .execute()
      return rows.map((r) => ({ outcome: r.outcome, otherOutcome: r.otherOutcome, count: Number(r.n) }))
    },

    /**
     * Indexes after `after` whose outcome is one of a pair in `jobId` and the other in `otherId`
     * (e.g. match in one run, mismatch in the other), in index order, with both items' data.
     */
    async changed (jobId: string, otherId: string, options: { pairs: ReadonlyArray<readonly [string, string]>, after: number, limit: number }): Promise<ItemPair[]> {
      if (options.pairs.length === 0) return []
      const rows = await db.selectFrom('jobItems as a')
        .innerJoin('jobItems as b', (join) => join.onRef('b.idx', '=', 'a.idx').on('b.jobId', '=', otherId))
        .select(['a.idx as idx', 'a.outcome as outcome', 'a.data as data', 'b.outcome as otherOutcome', 'b.data as otherData'])
        .where('a.jobId', '=', jobId)
        .where('a.idx', '>', options.after)
        .where((eb) => eb.or(options.pairs.map(([from, to]) => eb.and([eb('a.outcome', '=', from), eb('b.outcome', '=', to)]))))
        .orderBy('a.idx')
        .limit(options.limit)
        .execute()
      return rows.map((r) => ({
        index: r.idx,
        outcome: r.outcome,
        data: JSON.parse(r.data) as unknown,
        otherOutcome: r.otherOutcome,
        otherData: JSON.parse(r.otherData) as unknown
      }))
    }
  }
}

export type ItemsRepository = ReturnType<typeof createItemsRepository>
