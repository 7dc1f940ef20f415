import { v7 as uuidv7 } from 'uuid'
import type { Kysely } from 'kysely'
import { canonicalJson, sha256Hex } from '../canonical.ts'
import { conflict, unprocessable } from '../errors.ts'
import type { Database } from '../store/schema.ts'
import type { JobRow, JobsRepository } from '../store/jobs-repository.ts'
import type { EventsRepository } from '../store/events-repository.ts'
import type { JobResource } from '../schemas/job.ts'
import type { JobKind } from './kind.ts'
import { toJobResource } from './resource.ts'

export interface SubmitDeps {
  db: Kysely<Database>
  jobs: JobsRepository
  events: EventsRepository
  now: () => number
  jobMaxDurationMs: number
  idempotencyTtlMs: number
}

export interface SubmitRequest {
  kind: JobKind
  body: Record<string, unknown>
  caller: string
  idempotencyKey?: string
}

export interface SubmitAnswer {
  statusCode: number
  job: JobResource
  replayed: boolean
}

/**
 * Accepting a job only changes our own database, so the idempotency key, the job and its first
 * timeline entry are written in one transaction: a key can never point at a job that does not exist.
 */
export async function submitJob (deps: SubmitDeps, request: SubmitRequest): Promise<SubmitAnswer> {
  const { kind, caller, idempotencyKey } = request
  const { callbackUrl, labels, ...input } = request.body as { callbackUrl?: string, labels?: Record<string, string> }
  const now = deps.now()
  const deadlineMs = Math.min(kind.deadlineMs?.(input as never) ?? deps.jobMaxDurationMs, deps.jobMaxDurationMs)
  const row: JobRow = {
    // Time-ordered ids keep "newest first" stable for jobs created in the same millisecond.
    id: uuidv7(),
    kind: kind.name,
    status: 'queued',
    caller,
    input: JSON.stringify(input),
    labels: JSON.stringify(labels ?? {}),
    callbackUrl: callbackUrl ?? null,
    step: kind.initialStep,
    state: JSON.stringify(kind.initialState(input as never) ?? {}),
    stepAttempt: 0,
    result: null,
    error: null,
    progressDone: null,
    progressTotal: null,
    waitReason: null,
    runAt: now,
    deadlineAt: now + deadlineMs,
    leaseOwner: null,
    leaseToken: null,
    leaseExpiresAt: null,
    claims: 0,
    cancelRequested: 0,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    updatedAt: now,
    remoteRef: null
  }
  const job = toJobResource(row)
  const fingerprint = sha256Hex(canonicalJson({ kind: kind.name, body: request.body }))

  return await deps.db.transaction().execute(async (trx) => {
    if (idempotencyKey !== undefined) {
      const earlier = await earlierAnswer(trx, caller, idempotencyKey, fingerprint, now)
      if (earlier !== undefined) return earlier
      const claimed = await trx.insertInto('idempotencyKeys').values({
        caller,
        key: idempotencyKey,
        fingerprint,
        jobId: row.id,
        statusCode: 202,
        response: JSON.stringify(job),
        createdAt: now,
        expiresAt: now + deps.idempotencyTtlMs
      }).onConflict((oc) => oc.columns(['caller', 'key']).doNothing()).returning('key').executeTakeFirst()
      if (claimed === undefined) {
        // Another request with this key committed between our read and our insert.
        const raced = await earlierAnswer(trx, caller, idempotencyKey, fingerprint, now)
        if (raced !== undefined) return raced
        throw conflict('IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still being processed; retry it unchanged shortly')
      }
    }
    await deps.jobs.insert(trx, row, labels ?? {})
    await deps.events.append(trx, row.id, 'status', { to: 'queued', caller }, now)
    return { statusCode: 202, job, replayed: false }
  })
}

async function earlierAnswer (trx: Kysely<Database>, caller: string, key: string, fingerprint: string, now: number): Promise<SubmitAnswer | undefined> {
  const existing = await trx.selectFrom('idempotencyKeys').selectAll()
    .where('caller', '=', caller).where('key', '=', key).executeTakeFirst()
  if (existing === undefined) return undefined
  if (existing.expiresAt <= now) {
    await trx.deleteFrom('idempotencyKeys').where('caller', '=', caller).where('key', '=', key).execute()
    return undefined
  }
  if (existing.fingerprint !== fingerprint) {
    throw unprocessable('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request body; use a new key for a new request')
  }
  return { statusCode: existing.statusCode, job: JSON.parse(existing.response), replayed: true }
}
