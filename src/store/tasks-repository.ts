import type { Connection } from './schema.ts'

/**
 * Background tasks done once across replicas (retention): one row per task, leased by the replica
 * that runs it, with the time it is next due. A replica that dies mid-run leaves a lease that
 * expires, and the task falls due for another.
 */
export function createTasksRepository (db: Connection) {
  return {
    /** Takes the task when it is due and nobody holds it; false when it is not due or another replica runs it. */
    async claim (name: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
      const result = await db.updateTable('maintenanceTasks').set({ owner, leaseExpiresAt: now + leaseMs })
        .where('name', '=', name).where('nextRunAt', '<=', now)
        .where((eb) => eb.or([eb('owner', 'is', null), eb('leaseExpiresAt', '<', now)]))
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /** Extends the lease; false when another replica took the task over (this one must stop). */
    async renew (name: string, owner: string, until: number): Promise<boolean> {
      const result = await db.updateTable('maintenanceTasks').set({ leaseExpiresAt: until })
        .where('name', '=', name).where('owner', '=', owner).executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /** Gives the task up and says when it is next due; `completedAt` when the run did all it had to. */
    async finish (name: string, owner: string, result: { nextRunAt: number, outcome: string, completedAt?: number }): Promise<void> {
      await db.updateTable('maintenanceTasks')
        .set({ owner: null, leaseExpiresAt: null, nextRunAt: result.nextRunAt, lastOutcome: result.outcome, ...(result.completedAt === undefined ? {} : { lastFinishedAt: result.completedAt }) })
        .where('name', '=', name).where('owner', '=', owner).execute()
    },

    /** When the task can next be claimed: its due time, or the expiry of a lease still held. */
    async nextDueAt (name: string): Promise<number | undefined> {
      const row = await db.selectFrom('maintenanceTasks').select(['nextRunAt', 'owner', 'leaseExpiresAt']).where('name', '=', name).executeTakeFirst()
      if (row === undefined) return undefined
      return row.owner !== null && row.leaseExpiresAt !== null ? Math.max(row.nextRunAt, row.leaseExpiresAt) : row.nextRunAt
    },

    /** When a run of the task last completed. */
    async lastCompletedAt (name: string): Promise<number | null> {
      const row = await db.selectFrom('maintenanceTasks').select('lastFinishedAt').where('name', '=', name).executeTakeFirst()
      return row?.lastFinishedAt ?? null
    }
  }
}

export type TasksRepository = ReturnType<typeof createTasksRepository>
