import type { JobSummaryRow } from '../store/jobs-repository.ts'
import type { JobEventRow } from '../store/events-repository.ts'
import { isTerminal, type JobEventResource, type JobPriority, type JobResource, type JobStatus } from '../schemas/job.ts'

export type { JobEventResource } from '../schemas/job.ts'

const iso = (ms: number) => new Date(ms).toISOString()
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms))

/**
 * How fast countable work goes: items done per second since the job started, and the seconds left
 * at that rate while it runs. No rate before an item is done and a second has passed (it would say
 * little); no estimate once the job ended.
 */
export function progressOf (row: Pick<JobSummaryRow, 'progressDone' | 'progressTotal' | 'startedAt' | 'finishedAt' | 'status'>, now: number): JobResource['progress'] {
  if (row.progressTotal === null) return null
  const done = row.progressDone ?? 0
  const total = row.progressTotal
  const elapsedMs = (row.finishedAt ?? now) - (row.startedAt ?? now)
  const rate = done > 0 && elapsedMs >= 1000 ? done / (elapsedMs / 1000) : null
  const running = !isTerminal(row.status)
  const eta = !running ? null : done >= total ? 0 : rate === null ? null : Math.ceil((total - done) / rate)
  return { done, total, ratePerSecond: rate === null ? null : Math.round(rate * 1000) / 1000, etaSeconds: eta }
}

/**
 * The one public shape of a job, used by every route, the idempotency replay and callbacks.
 * `input` and `result` are there when the row carries them (reads leave them out unless asked);
 * `now` is the service clock's, for the progress estimate.
 */
export function toJobResource (row: JobSummaryRow, now: number = row.updatedAt): JobResource {
  const resource: JobResource = {
    id: row.id,
    kind: row.kind,
    status: row.status as JobStatus,
    submittedBy: row.caller,
    team: row.team,
    priority: row.priority as JobPriority,
    ...(row.input === undefined ? {} : { input: JSON.parse(row.input) }),
    labels: JSON.parse(row.labels),
    callbackUrl: row.callbackUrl,
    step: row.step,
    progress: progressOf(row, now),
    waitReason: row.waitReason,
    cancelRequested: row.cancelRequested === 1,
    attempts: row.claims,
    createdAt: iso(row.createdAt),
    startedAt: isoOrNull(row.startedAt),
    finishedAt: isoOrNull(row.finishedAt),
    updatedAt: iso(row.updatedAt),
    deadlineAt: iso(row.deadlineAt),
    rerunOf: row.rerunOf
  }
  if (row.result !== undefined && row.result !== null) resource.result = JSON.parse(row.result)
  if (row.error !== null) resource.error = JSON.parse(row.error)
  return resource
}

/** One timeline entry as callers see it. */
export const toEventResource = (e: JobEventRow): JobEventResource => ({
  seq: e.seq,
  at: new Date(e.at).toISOString(),
  type: e.type,
  data: JSON.parse(e.data) as Record<string, unknown>
})
