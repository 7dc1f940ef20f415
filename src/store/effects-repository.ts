import type { Kysely, Selectable } from 'kysely'
import type { Database, JobEffectsTable } from './schema.ts'

type Db = Kysely<Database>
export type EffectRow = Selectable<JobEffectsTable>

/**
 * Side effects a job is sending to Genesys: a row is written just before the call goes and removed
 * with the record of its outcome, so a row left behind names a call whose outcome nobody recorded.
 */
export function createEffectsRepository (db: Db) {
  return {
    async mark (trx: Db, effect: EffectRow): Promise<void> {
      await trx.insertInto('jobEffects').values(effect)
        .onConflict((oc) => oc.columns(['jobId', 'key']).doUpdateSet({ markedAt: effect.markedAt, claim: effect.claim, item: effect.item }))
        .execute()
    },

    async find (jobId: string, key: string): Promise<EffectRow | undefined> {
      return await db.selectFrom('jobEffects').selectAll().where('jobId', '=', jobId).where('key', '=', key).executeTakeFirst()
    },

    async clear (trx: Db, jobId: string, key: string): Promise<void> {
      await trx.deleteFrom('jobEffects').where('jobId', '=', jobId).where('key', '=', key).execute()
    },

    /** The outcome of the job's calls is recorded: removes its rows and answers the ones that were left. */
    async settle (trx: Db, jobId: string): Promise<EffectRow[]> {
      return await trx.deleteFrom('jobEffects').where('jobId', '=', jobId).returningAll().execute()
    },

    /** The items' outcomes are recorded: removes the rows of the calls made for them. */
    async settleItems (trx: Db, jobId: string, items: number[]): Promise<void> {
      if (items.length === 0) return
      await trx.deleteFrom('jobEffects').where('jobId', '=', jobId).where('item', 'in', items).execute()
    }
  }
}

export type EffectsRepository = ReturnType<typeof createEffectsRepository>
