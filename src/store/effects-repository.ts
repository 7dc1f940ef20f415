import type { Selectable } from 'kysely'
import type { Connection, JobEffectsTable } from './schema.ts'

export type EffectRow = Selectable<JobEffectsTable>

/**
 * Side effects a job is sending to Genesys: a row is written just before the call goes and removed
 * with the record of its outcome, so a row left behind names a call whose outcome nobody recorded.
 */
export function createEffectsRepository (db: Connection) {
  return {
    async mark (effect: EffectRow): Promise<void> {
      await db.insertInto('jobEffects').values(effect)
        .onConflict((oc) => oc.columns(['jobId', 'key']).doUpdateSet({ markedAt: effect.markedAt, claim: effect.claim, item: effect.item }))
        .execute()
    },

    async find (jobId: string, key: string): Promise<EffectRow | undefined> {
      return await db.selectFrom('jobEffects').selectAll().where('jobId', '=', jobId).where('key', '=', key).executeTakeFirst()
    },

    async clear (jobId: string, key: string): Promise<void> {
      await db.deleteFrom('jobEffects').where('jobId', '=', jobId).where('key', '=', key).execute()
    },

    /** The outcome of the job's calls is recorded: removes its rows and answers the ones that were left. */
    async settle (jobId: string): Promise<EffectRow[]> {
      return await db.deleteFrom('jobEffects').where('jobId', '=', jobId).returningAll().execute()
    },

    /** The items' outcomes are recorded: removes the rows of the calls made for them. */
    async settleItems (jobId: string, items: number[]): Promise<void> {
      if (items.length === 0) return
      await db.deleteFrom('jobEffects').where('jobId', '=', jobId).where('item', 'in', items).execute()
    }
  }
}

export type EffectsRepository = ReturnType<typeof createEffectsRepository>
