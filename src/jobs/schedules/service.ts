import { v7 as uuidv7 } from 'uuid'
import { Type } from 'typebox'
import { conflict, invalid, notFound } from '../../errors.ts'
import type { Clock } from '../../clock.ts'
import type { CallbackPolicy } from '../../callbacks/target.ts'
import { bodyValidator } from '../../schemas/validation.ts'
import type { CreateSchedule, PatchSchedule, ScheduleResource, ScheduleRunResource } from '../../schemas/schedule.ts'
import type { Store } from '../../store/database.ts'
import type { ScheduleRow, ScheduleRunRow } from '../../store/schedules-repository.ts'
import { canSee, type Actor } from '../actor.ts'
import type { JobKind } from '../kind.ts'
import { insertJob, prepareJob, submissionBody, type PreparedJob } from '../submit.ts'
import { toJobResource } from '../resource.ts'
import type { JobResource } from '../../schemas/job.ts'
import { parseCron, ScheduleTimingInvalid, type CronSchedule } from './cron.ts'

export interface ScheduleDeps {
  store: Store
  kinds: ReadonlyMap<string, JobKind>
  clock: Clock
  callbackPolicy: CallbackPolicy
  jobMaxDurationMs: number
  /** A job was written (a run by hand): wake the workers, count the submission. */
  jobCreated: (kind: string) => void
  /** A schedule was made or changed: its next tick may be sooner than the ticker thinks. */
  wakeTicker: () => void
}

const iso = (ms: number) => new Date(ms).toISOString()

export function toScheduleResource (row: ScheduleRow): ScheduleResource {
  return {
    id: row.id,
    name: row.name,
    team: row.team,
    createdBy: row.createdBy,
    cron: row.cron,
    timeZone: row.timeZone,
    kind: row.kind,
    body: JSON.parse(row.body),
    labels: JSON.parse(row.labels),
    callbackUrl: row.callbackUrl,
    overlap: row.overlap as ScheduleResource['overlap'],
    catchUp: row.catchUp as ScheduleResource['catchUp'],
    enabled: row.enabled === 1,
    nextTickAt: row.nextTickAt === null ? null : iso(row.nextTickAt),
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt)
  }
}

export const toRunResource = (run: ScheduleRunRow): ScheduleRunResource => ({
  tickAt: iso(run.tickAt),
  outcome: run.outcome as ScheduleRunResource['outcome'],
  jobId: run.jobId,
  catchUp: run.catchUp === 1,
  reason: run.reason,
  recordedAt: iso(run.recordedAt),
  lagMs: run.recordedAt - run.tickAt
})

/** The cron of a schedule, read in its time zone; a 400 that names the field when it cannot be. */
export function timingOf (cron: string, timeZone: string): CronSchedule {
  try {
    return parseCron(cron, timeZone)
  } catch (err) {
    if (err instanceof ScheduleTimingInvalid) throw invalid(err.field === 'cron' ? 'CRON_INVALID' : 'TIME_ZONE_INVALID', err.message)
    throw err
  }
}

const bodyChecks = new WeakMap<JobKind, { schedule: (v: unknown) => void, job: (v: unknown) => void }>()
/** A schedule's body is the kind's body with the fields the kind lets a schedule give in another form. */
function checksFor (kind: JobKind) {
  let checks = bodyChecks.get(kind)
  if (checks === undefined) {
    const schedule = Type.Object({ ...kind.body.properties, ...(kind.schedule?.fields ?? {}) }, { additionalProperties: false })
    checks = { schedule: bodyValidator(schedule, 'body.body'), job: bodyValidator(submissionBody(kind), 'body.body') }
    bodyChecks.set(kind, checks)
  }
  return checks
}

/** The actor of a schedule's jobs: the schedule, in its team. */
export const scheduleActor = (row: Pick<ScheduleRow, 'team' | 'name'>): Actor => ({ key: `schedule:${row.name}`, team: row.team, admin: false })

/**
 * The job a tick at `at` makes: the schedule's body as the kind resolves it for the tick, with the
 * schedule's labels and callback URL, checked as a submission is (the kind's own checks, the
 * callback target). Nothing is written.
 */
export async function jobForTick (deps: Pick<ScheduleDeps, 'kinds' | 'callbackPolicy' | 'jobMaxDurationMs' | 'clock'>, row: ScheduleRow, at: number,
  origin: { catchUp: boolean }, actor: Actor = scheduleActor(row)): Promise<PreparedJob> {
  const kind = deps.kinds.get(row.kind)
  if (kind === undefined) throw invalid('UNKNOWN_KIND', `kind '${row.kind}' is not one this service runs (${[...deps.kinds.keys()].join(', ')})`)
  const stored = JSON.parse(row.body) as Record<string, unknown>
  const resolved = kind.schedule === undefined ? stored : kind.schedule.atTick(stored as never, { at, timeZone: row.timeZone }) as Record<string, unknown>
  const labels = JSON.parse(row.labels) as Record<string, string>
  const body = { ...resolved, ...(Object.keys(labels).length > 0 ? { labels } : {}), ...(row.callbackUrl === null ? {} : { callbackUrl: row.callbackUrl }) }
  checksFor(kind).job(body)
  return await prepareJob({ now: deps.clock.now, callbackPolicy: deps.callbackPolicy, jobMaxDurationMs: deps.jobMaxDurationMs }, kind, actor, body,
    { schedule: { id: row.id, name: row.name, tickAt: at, catchUp: origin.catchUp } })
}

/** The schedule use cases (no HTTP): create, read, change, remove, list its ticks, run it now. */
export function createScheduleService (deps: ScheduleDeps) {
  const { store, clock } = deps

  function kindOf (name: string): JobKind {
    const kind = deps.kinds.get(name)
    if (kind === undefined) throw invalid('UNKNOWN_KIND', `kind '${name}' is not one of: ${[...deps.kinds.keys()].join(', ')}`)
    return kind
  }

  async function visible (actor: Actor, id: string): Promise<ScheduleRow> {
    const row = await store.schedules.get(id)
    if (row === undefined || !canSee(actor, row.team)) throw notFound('SCHEDULE_NOT_FOUND', `No schedule with id ${id}`)
    return row
  }

  /** Every check a schedule passes before it is written: its timing, its body, and the job it would make now. */
  async function checked (row: ScheduleRow): Promise<CronSchedule> {
    const timing = timingOf(row.cron, row.timeZone)
    const kind = kindOf(row.kind)
    const body = JSON.parse(row.body) as unknown
    checksFor(kind).schedule(body)
    // The defaults the schema filled in are kept with the schedule, as a submission keeps them.
    row.body = JSON.stringify(body)
    await jobForTick(deps, row, clock.now(), { catchUp: false })
    return timing
  }

  const nameTaken = (name: string) => conflict('SCHEDULE_NAME_TAKEN', `Your team already has a schedule named '${name}': choose another name, or change that schedule (PATCH /v1/schedules/{id})`)

  return {
    async create (actor: Actor, input: CreateSchedule): Promise<ScheduleResource> {
      const now = clock.now()
      const row: ScheduleRow = {
        id: uuidv7(),
        team: actor.team,
        name: input.name,
        createdBy: actor.key,
        cron: input.cron.trim(),
        timeZone: input.timeZone,
        kind: input.kind,
        body: JSON.stringify(input.body),
        labels: JSON.stringify(input.labels ?? {}),
        callbackUrl: input.callbackUrl ?? null,
        overlap: input.overlap ?? 'skip',
        catchUp: input.catchUp ?? 'none',
        enabled: input.enabled === false ? 0 : 1,
        nextTickAt: null,
        createdAt: now,
        updatedAt: now
      }
      const timing = await checked(row)
      row.nextTickAt = row.enabled === 1 ? timing.next(now) ?? null : null
      if (!await store.schedules.insert(row)) throw nameTaken(row.name)
      deps.wakeTicker()
      return toScheduleResource(row)
    },

    async get (actor: Actor, id: string): Promise<ScheduleResource> {
      return toScheduleResource(await visible(actor, id))
    },

    /** Newest first: the actor's team's, or every team's for a jobs:admin key. */
    async list (actor: Actor, page: { limit: number, before?: { createdAt: number, id: string } }): Promise<{ items: ScheduleResource[], next?: { createdAt: number, id: string } }> {
      const rows = await store.schedules.list({ ...(actor.admin ? {} : { team: actor.team }), limit: page.limit + 1, before: page.before })
      const items = rows.slice(0, page.limit)
      const last = items[items.length - 1]
      return { items: items.map(toScheduleResource), ...(rows.length > page.limit && last !== undefined ? { next: { createdAt: last.createdAt, id: last.id } } : {}) }
    },

    /**
     * Changes some fields; the whole schedule is checked again. A new cron or time zone, or enabling
     * it, moves the next tick to the first after now; ticks while it was disabled are not missed.
     */
    async update (actor: Actor, id: string, patch: PatchSchedule): Promise<ScheduleResource> {
      const current = await visible(actor, id)
      if (patch.kind !== undefined && patch.kind !== current.kind && patch.body === undefined) {
        throw invalid('BODY_REQUIRED', `a schedule changing to kind '${patch.kind}' needs the body of that kind too`)
      }
      const now = clock.now()
      const row: ScheduleRow = {
        ...current,
        ...(patch.name === undefined ? {} : { name: patch.name }),
        ...(patch.cron === undefined ? {} : { cron: patch.cron.trim() }),
        ...(patch.timeZone === undefined ? {} : { timeZone: patch.timeZone }),
        ...(patch.kind === undefined ? {} : { kind: patch.kind }),
        ...(patch.body === undefined ? {} : { body: JSON.stringify(patch.body) }),
        ...(patch.labels === undefined ? {} : { labels: JSON.stringify(patch.labels) }),
        ...(patch.callbackUrl === undefined ? {} : { callbackUrl: patch.callbackUrl }),
        ...(patch.overlap === undefined ? {} : { overlap: patch.overlap }),
        ...(patch.catchUp === undefined ? {} : { catchUp: patch.catchUp }),
        ...(patch.enabled === undefined ? {} : { enabled: patch.enabled ? 1 : 0 }),
        updatedAt: now
      }
      const timing = await checked(row)
      const retimed = row.cron !== current.cron || row.timeZone !== current.timeZone || (row.enabled === 1 && current.enabled === 0)
      row.nextTickAt = row.enabled === 0 ? null : retimed || current.nextTickAt === null ? timing.next(now) ?? null : current.nextTickAt
      const { id: _id, team: _team, createdAt: _created, createdBy: _by, ...changes } = row
      if (!await store.schedules.update(id, changes)) throw nameTaken(row.name)
      deps.wakeTicker()
      return toScheduleResource(row)
    },

    /** Removes the schedule and the record of its ticks; the jobs it made stay. */
    async remove (actor: Actor, id: string): Promise<void> {
      await visible(actor, id)
      await store.schedules.remove(id)
    },

    /** The record of its ticks, newest first. */
    async runs (actor: Actor, id: string, limit: number, beforeTickAt?: number): Promise<{ items: ScheduleRunResource[], next?: number }> {
      await visible(actor, id)
      const rows = await store.schedules.runs(id, limit + 1, beforeTickAt)
      const items = rows.slice(0, limit)
      return { items: items.map(toRunResource), ...(rows.length > limit ? { next: items[items.length - 1]!.tickAt } : {}) }
    },

    /**
     * Makes the schedule's job now, whatever its cron and overlap say (to try a schedule out, or
     * to make up for a failed run), recorded as a run at this instant; the job is the schedule's team's.
     */
    async runNow (actor: Actor, id: string): Promise<JobResource> {
      const row = await visible(actor, id)
      const now = clock.now()
      const prepared = await jobForTick(deps, row, now, { catchUp: false }, { key: actor.key, team: row.team, admin: false })
      await store.transaction(async (tx) => {
        // Recorded at this instant; a tick recorded at the very same millisecond moves it on by one.
        for (let at = now; ; at++) {
          if (await tx.schedules.recordRun({ scheduleId: row.id, tickAt: at, outcome: 'created', jobId: prepared.row.id, catchUp: 0, reason: `run by hand by ${actor.key}`, recordedAt: now })) break
          if (at - now >= 100) throw conflict('SCHEDULE_RUN_EXISTS', 'Runs of this schedule are being recorded at this very moment; try again')
        }
        await insertJob(tx, prepared)
      })
      deps.jobCreated(row.kind)
      return toJobResource(prepared.row)
    }
  }
}

export type ScheduleService = ReturnType<typeof createScheduleService>
