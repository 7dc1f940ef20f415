import type { Selectable, Updateable } from 'kysely'
import type { Connection, ScheduleRunsTable, SchedulesTable } from './schema.ts'

export type ScheduleRow = Selectable<SchedulesTable>
export type SchedulePatch = Omit<Updateable<SchedulesTable>, 'id' | 'team' | 'createdAt' | 'createdBy'>
export type ScheduleRunRow = Selectable<ScheduleRunsTable>

const ACTIVE = ['queued', 'running', 'waiting']

/** Schedules (cron-driven job templates of a team) and the record of each of their ticks. */
export function createSchedulesRepository (db: Connection) {
  return {
    /** False when the team already has a schedule of that name. */
    async insert (row: ScheduleRow): Promise<boolean> {
      const inserted = await db.insertInto('schedules').values(row)
        .onConflict((oc) => oc.columns(['team', 'name']).doNothing()).returning('id').executeTakeFirst()
      return inserted !== undefined
    },

    async get (id: string): Promise<ScheduleRow | undefined> {
      return await db.selectFrom('schedules').selectAll().where('id', '=', id).executeTakeFirst()
    },

    async findByName (team: string, name: string): Promise<ScheduleRow | undefined> {
      return await db.selectFrom('schedules').selectAll().where('team', '=', team).where('name', '=', name).executeTakeFirst()
    },

    /** Newest first; one team's, or every team's when `team` is absent. */
    async list (filter: { team?: string, limit: number, before?: { createdAt: number, id: string } }): Promise<ScheduleRow[]> {
      let query = db.selectFrom('schedules').selectAll()
      if (filter.team !== undefined) query = query.where('team', '=', filter.team)
      const before = filter.before
      if (before !== undefined) {
        query = query.where((eb) => eb.or([eb('createdAt', '<', before.createdAt), eb.and([eb('createdAt', '=', before.createdAt), eb('id', '<', before.id)])]))
      }
      return await query.orderBy('createdAt', 'desc').orderBy('id', 'desc').limit(filter.limit).execute()
    },

    /** False when another schedule of the team has the new name. */
    async update (id: string, patch: SchedulePatch): Promise<boolean> {
      if (patch.name !== undefined) {
        const row = await db.selectFrom('schedules').select('team').where('id', '=', id).executeTakeFirst()
        const taken = row === undefined ? undefined : await db.selectFrom('schedules').select('id').where('team', '=', row.team).where('name', '=', patch.name).where('id', '!=', id).executeTakeFirst()
        if (taken !== undefined) return false
      }
      await db.updateTable('schedules').set(patch).where('id', '=', id).execute()
      return true
    },

    /** Removes the schedule and the record of its ticks (the jobs it made stay). */
    async remove (id: string): Promise<boolean> {
      await db.deleteFrom('scheduleRuns').where('scheduleId', '=', id).execute()
      const result = await db.deleteFrom('schedules').where('id', '=', id).executeTakeFirst()
      return result.numDeletedRows > 0n
    },

    /** The enabled schedule whose next tick is due first, if any is due by `now`. */
    async nextDue (now: number): Promise<ScheduleRow | undefined> {
      return await db.selectFrom('schedules').selectAll().where('enabled', '=', 1).where('nextTickAt', '<=', now)
        .orderBy('nextTickAt').limit(1).executeTakeFirst()
    },

    /** When the next tick of any enabled schedule falls due. */
    async nextDueAt (): Promise<number | undefined> {
      const row = await db.selectFrom('schedules').select((eb) => eb.fn.min<number | null>('nextTickAt').as('due')).where('enabled', '=', 1).executeTakeFirst()
      return row?.due ?? undefined
    },

    /**
     * Moves the schedule past the ticks being handled, if nobody did meanwhile: false means another
     * replica handled them (this one must write nothing).
     */
    async advance (id: string, expectedNextTickAt: number, nextTickAt: number | null, now: number): Promise<boolean> {
      const result = await db.updateTable('schedules').set({ nextTickAt, updatedAt: now })
        .where('id', '=', id).where('nextTickAt', '=', expectedNextTickAt).where('enabled', '=', 1).executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    /** Records a tick; false when that tick of that schedule was recorded before (its job exists already). */
    async recordRun (run: ScheduleRunRow): Promise<boolean> {
      const inserted = await db.insertInto('scheduleRuns').values(run)
        .onConflict((oc) => oc.columns(['scheduleId', 'tickAt']).doNothing()).returning('tickAt').executeTakeFirst()
      return inserted !== undefined
    },

    /** Newest tick first; `beforeTickAt` is the cursor. */
    async runs (scheduleId: string, limit: number, beforeTickAt?: number): Promise<ScheduleRunRow[]> {
      let query = db.selectFrom('scheduleRuns').selectAll().where('scheduleId', '=', scheduleId)
      if (beforeTickAt !== undefined) query = query.where('tickAt', '<', beforeTickAt)
      return await query.orderBy('tickAt', 'desc').limit(limit).execute()
    },

    /** The newest run of the schedule whose job is not finished yet, with the job's status. */
    async activeRun (scheduleId: string): Promise<{ tickAt: number, jobId: string, status: string } | undefined> {
      const row = await db.selectFrom('scheduleRuns').innerJoin('jobs', 'jobs.id', 'scheduleRuns.jobId')
        .select(['scheduleRuns.tickAt', 'jobs.id as jobId', 'jobs.status'])
        .where('scheduleRuns.scheduleId', '=', scheduleId).where('jobs.status', 'in', ACTIVE)
        .orderBy('scheduleRuns.tickAt', 'desc').limit(1).executeTakeFirst()
      return row
    }
  }
}

export type SchedulesRepository = ReturnType<typeof createSchedulesRepository>
