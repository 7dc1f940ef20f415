import { canonicalJson, sha256Hex } from '../canonical.ts'
import type { Logger } from '../logger.ts'
import type { Store } from '../store/database.ts'
import type { JobRow } from '../store/jobs-repository.ts'
import { REMOTE_OUTCOME_UNKNOWN, rerunOrigin, type JobError, type JobKind, type JobStatus } from './kind.ts'
import { toJobResource } from './resource.ts'

/** What a finished job is reported as, after its terminal transaction committed. */
export interface FinishedJob { kind: string, status: string, durationMs: number, cacheHit: boolean | null }

export interface FinishDeps {
  store: Store
  /** Told after the terminal transaction commits (metrics, waking the callback deliverer). */
  onFinished?: (job: FinishedJob) => void
  log?: Pick<Logger, 'warn'>
}

export interface Finish {
  row: JobRow
  kind: JobKind | undefined
  status: Extract<JobStatus, 'succeeded' | 'failed' | 'cancelled' | 'timed_out'>
  result?: unknown
  error?: JobError
  state?: unknown
  /** The claim's token, or 'idle' for a job no worker holds (cancel of a queued job). */
  fence: string | 'idle'
  now: number
  /** Timeline entries that belong to the same moment, e.g. the last step's timing. */
  extraEvents?: Array<{ type: string, data: Record<string, unknown> }>
}

/**
 * The terminal transition, its timeline event, its audit record and its callback are one
 * transaction: either all of them exist or none does. Returns false when the fence no longer holds.
 */
export async function finishJob (deps: FinishDeps, f: Finish): Promise<boolean> {
  const { row, status, now } = f
  const state = f.state ?? JSON.parse(row.state)
  const result = f.result ?? (status === 'succeeded' ? undefined : await partialResult(deps, f, state))
  const reported = status === 'succeeded' ? f.kind?.metrics?.fromResult(result) : undefined
  // A cancel is the canceller's act; any other end is the run of the job its submitter asked for.
  const canceller = status === 'cancelled' && row.cancelledBy !== null ? JSON.parse(row.cancelledBy) as { key: string, team: string } : undefined
  const actor = canceller ?? { key: row.caller, team: row.team }
  const cacheHit = reported?.cacheHit ?? null
  const finished = await deps.store.transaction(async (tx) => {
    const patch = {
      cancelledBy: row.cancelledBy,
      cacheHit: cacheHit === null ? null : cacheHit ? 1 : 0,
      callLatencyMs: reported?.callLatencyMs === null || reported?.callLatencyMs === undefined ? null : Math.round(reported.callLatencyMs),
      status,
      state: JSON.stringify(state),
      result: result === undefined ? null : JSON.stringify(result),
      error: f.error === undefined ? null : JSON.stringify(f.error),
      finishedAt: now,
      updatedAt: now,
      waitReason: null,
      leaseOwner: null,
      leaseToken: null,
      leaseExpiresAt: null
    }
    const applied = f.fence === 'idle'
      ? await tx.jobs.updateIfIdle(row.id, patch)
      : await tx.jobs.fencedUpdate(row.id, f.fence, patch)
    if (!applied) return false

    const durationMs = now - row.createdAt
    // Marks still standing name calls that were sent and whose outcome was never recorded.
    const unsettled = (await tx.effects.settle(row.id)).map((e) => e.key)
    const mayHaveRun = f.error?.code === REMOTE_OUTCOME_UNKNOWN || unsettled.length > 0
    for (const entry of f.extraEvents ?? []) await tx.events.append(row.id, entry.type, entry.data, now)
    await tx.events.append(row.id, 'status', { from: row.status, to: status, ...(f.error ? { error: f.error } : {}), ...(canceller === undefined ? {} : { by: canceller }) }, now)
    const input = JSON.parse(row.input)
    await tx.audit.append({
      event: `job.${status}`,
      jobId: row.id,
      kind: row.kind,
      actor: actor.key,
      details: {
        status,
        actor,
        durationMs,
        attempts: row.claims,
        step: row.step,
        inputSha256: sha256Hex(canonicalJson(input)),
        ...(result === undefined ? {} : { resultSha256: sha256Hex(canonicalJson(result)) }),
        ...(f.error === undefined ? {} : { error: { code: f.error.code, message: f.error.message, ...(f.error.genesys?.correlationId === undefined ? {} : { correlationId: f.error.genesys.correlationId }) } }),
        ...(mayHaveRun ? { remoteMayHaveRun: true, ...(unsettled.length > 0 ? { callsInFlight: unsettled } : {}) } : {}),
        ...(f.kind?.auditDetails?.(status, state, input) ?? {})
      }
    }, now)
    if (row.callbackUrl !== null) {
      const job = toJobResource({ ...row, ...patch })
      const own = status === 'succeeded' ? f.kind?.callbackPayload?.(result, { id: row.id, finishedAt: job.finishedAt ?? '' }) : undefined
      await tx.outbox.enqueue({
        jobId: row.id,
        eventType: `job.${status}`,
        url: row.callbackUrl,
        payload: own ?? { type: `job.${status}`, timestamp: new Date(now).toISOString(), data: job }
      }, now)
    }
    return true
  })
  if (finished) deps.onFinished?.({ kind: row.kind, status, durationMs: now - row.createdAt, cacheHit })
  return finished
}

/**
 * What a job that ends without succeeding keeps of its work (its kind's `partialResult`, e.g. the
 * metrics of the rows it finished). A kind that cannot say must not stop the job from ending.
 */
async function partialResult (deps: FinishDeps, f: Finish, state: unknown): Promise<unknown> {
  const hook = f.kind?.partialResult
  if (hook === undefined) return undefined
  try {
    return await hook({ input: JSON.parse(f.row.input), state, status: f.status, rerun: rerunOrigin(f.row), items: async () => await deps.store.items.load(f.row.id) })
  } catch (err) {
    deps.log?.warn({ err, jobId: f.row.id }, 'the partial result of the job could not be computed; it ends without one')
    return undefined
  }
}
