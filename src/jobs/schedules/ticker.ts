import type { Clock } from '../../clock.ts'
import type { Logger } from '../../logger.ts'
import { createScheduler } from '../../scheduler.ts'
import type { Store } from '../../store/database.ts'
import type { ScheduleRow } from '../../store/schedules-repository.ts'
import { DomainError } from '../../errors.ts'
import { BodyInvalid } from '../../schemas/validation.ts'
import { insertJob, type PreparedJob } from '../submit.ts'
import type { ScheduleDeps } from './service.ts'
import { jobForTick, timingOf } from './service.ts'

/** A tick whose job is made within this long of its time is on time; later, it was missed (no replica ran). */
export const ON_TIME_MS = 60_000
/** Missed ticks recorded one by one at most, the newest (a long outage of a frequent schedule records the last ones). */
const MISSED_RECORDED = 100
/** Schedules handled at once by one replica. */
const CONCURRENCY = 4

export interface TickReport {
  scheduleId: string
  kind: string
  /** The tick's job, when one was made. */
  created?: { tickAt: number, jobId: string, catchUp: boolean, lagMs: number }
  skipped: Array<{ tickAt: number, reason: string }>
  missed: number
  failed?: { tickAt: number, reason: string }
}

export interface TickerDeps extends Pick<ScheduleDeps, 'store' | 'kinds' | 'clock' | 'callbackPolicy' | 'jobMaxDurationMs' | 'jobCreated'> {
  store: Store
  clock: Clock
  log: Logger
  pollMs: number
  /** What a tick did (metrics). */
  onTick?: (report: TickReport) => void
}

/** Why a tick's job could not be made, in words for the run's record. */
function whyNot (err: unknown): string {
  if (err instanceof DomainError) return `${err.code}: ${err.message}`
  if (err instanceof BodyInvalid) return `the schedule's body no longer fits the kind: ${JSON.stringify(err.validation[0] ?? {})}`
  return (err as Error).message
}

/**
 * The ticks of every schedule, on the same background mechanism as the engine (src/scheduler.ts):
 * sleep until the next tick of any schedule (or the poll interval), then handle what is due. Each
 * schedule's ticks are handled in one transaction that moves the schedule past them only if nobody
 * did meanwhile, and records each tick under the key (schedule, tick time) with the job it made:
 * however many replicas look at once, a tick makes one job.
 */
export function createScheduleTicker (deps: TickerDeps) {
  const { store, clock, log } = deps

  /** Handles the due ticks of one schedule: 'raced' when another replica handled them first. */
  async function tick (row: ScheduleRow, now: number): Promise<TickReport | 'raced'> {
    const report: TickReport = { scheduleId: row.id, kind: row.kind, skipped: [], missed: 0 }
    const first = row.nextTickAt!
    let next: number | null
    let due: number[]
    try {
      const timing = timingOf(row.cron, row.timeZone)
      due = timing.latest(now, MISSED_RECORDED + 1).filter((t) => t >= first)
      if (due.length === 0) due = [first]
      next = timing.next(now) ?? null
    } catch (err) {
      // A schedule whose timing cannot be read any more (a time zone gone from the system): it stops, and says why.
      due = [first]
      next = null
      report.failed = { tickAt: first, reason: whyNot(err) }
    }
    const latest = due[due.length - 1]!
    const onTime = now - latest < ON_TIME_MS
    const fire = report.failed === undefined && (onTime || row.catchUp === 'latest') ? { tickAt: latest, catchUp: !onTime } : undefined
    const missed = due.filter((t) => t !== fire?.tickAt && t !== report.failed?.tickAt)

    // Resolved and checked before the transaction: a callback host's name is looked up, which must not hold the database.
    let job: PreparedJob | undefined
    if (fire !== undefined) {
      try {
        job = await jobForTick(deps, row, fire.tickAt, { catchUp: fire.catchUp })
      } catch (err) {
        report.failed = { tickAt: fire.tickAt, reason: whyNot(err) }
      }
    }

    return await store.transaction(async (tx) => {
      if (!await tx.schedules.advance(row.id, first, next, now)) return 'raced'
      const record = async (tickAt: number, outcome: string, reason: string | null, jobId: string | null = null, catchUp = false) =>
        await tx.schedules.recordRun({ scheduleId: row.id, tickAt, outcome, jobId, catchUp: catchUp ? 1 : 0, reason, recordedAt: now })
      for (const tickAt of missed) {
        await record(tickAt, 'missed', `no replica made this tick's job within ${ON_TIME_MS / 1000} s of its time; catchUp ${row.catchUp}${row.catchUp === 'latest' ? ' runs only the newest missed tick' : ' runs none of them'}`)
        report.missed += 1
      }
      if (report.failed !== undefined) {
        await record(report.failed.tickAt, 'failed', report.failed.reason)
        return report
      }
      if (fire === undefined || job === undefined) return report
      if (row.overlap === 'skip') {
        const active = await tx.schedules.activeRun(row.id)
        if (active !== undefined) {
          const reason = `overlap skip: the run of ${new Date(active.tickAt).toISOString()} (job ${active.jobId}) is still ${active.status}`
          await record(fire.tickAt, 'skipped', reason)
          report.skipped.push({ tickAt: fire.tickAt, reason })
          return report
        }
      }
      // The tick's key and its job commit together, or neither does.
      if (await record(fire.tickAt, 'created', fire.catchUp ? 'catch-up: the newest tick missed while no replica ran' : null, job.row.id, fire.catchUp)) {
        await insertJob(tx, job)
        report.created = { tickAt: fire.tickAt, jobId: job.row.id, catchUp: fire.catchUp, lagMs: now - fire.tickAt }
      }
      return report
    })
  }

  /** Handles the schedule due first, if any; loops past schedules another replica handled meanwhile. */
  async function claim (): Promise<TickReport | undefined> {
    for (let raced = 0; raced < 50; raced++) {
      const now = clock.now()
      const row = await store.schedules.nextDue(now)
      if (row === undefined) return undefined
      const outcome = await tick(row, now)
      if (outcome !== 'raced') return outcome
    }
    return undefined
  }

  const scheduler = createScheduler<TickReport>({
    claim,
    // A tick is due at its time; the scheduler counts a due time as reached once the clock has passed it.
    nextDueAt: async () => { const due = await store.schedules.nextDueAt(); return due === undefined ? undefined : due - 1 },
    run: async (report) => {
      if (report.created !== undefined) deps.jobCreated(report.kind)
      if (report.failed !== undefined) log.warn({ scheduleId: report.scheduleId, tickAt: new Date(report.failed.tickAt).toISOString(), reason: report.failed.reason }, 'a schedule tick could not make its job')
      if (report.missed > 0) log.warn({ scheduleId: report.scheduleId, missed: report.missed }, 'schedule ticks were missed while no replica ran')
      deps.onTick?.(report)
    }
  }, {
    concurrency: CONCURRENCY,
    pollMs: deps.pollMs,
    clock,
    onError: (err) => { log.error({ err }, 'schedule ticks could not be handled; trying again at the next poll') }
  })

  return {
    start: scheduler.start,
    /** A schedule was made or changed: look again now. */
    wake: scheduler.wake,
    stop: scheduler.stop,
    settled: scheduler.settled
  }
}

export type ScheduleTicker = ReturnType<typeof createScheduleTicker>
