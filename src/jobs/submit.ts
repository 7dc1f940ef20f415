import { v7 as uuidv7 } from 'uuid'
import { canonicalJson, sha256Hex } from '../canonical.ts'
import { conflict, invalid, unprocessable } from '../errors.ts'
import { CallbackRefused, checkCallbackTarget, type CallbackPolicy } from '../callbacks/target.ts'
import type { Repositories, Store } from '../store/database.ts'
import type { JobRow } from '../store/jobs-repository.ts'
import type { JobResource } from '../schemas/job.ts'
import type { JobKind } from './kind.ts'
import { actorRecord, type Actor } from './actor.ts'
import { toJobResource } from './resource.ts'

export interface SubmitDeps {
  store: Store
  now: () => number
  callbackPolicy: CallbackPolicy
  jobMaxDurationMs: number
  idempotencyTtlMs: number
}

export interface SubmitRequest {
  kind: JobKind
  body: Record<string, unknown>
  /** Who submits: the job and the idempotency key belong to its team. */
  actor: Actor
  idempotencyKey?: string
}

export interface Submitted {
  job: JobResource
  /** The key had been used before with this body: `job` is the first answer, nothing new was created. */
  replayed: boolean
  /** The store already woke the workers of other processes with the job's commit. */
  othersWoken?: boolean
}

/**
 * Refuses the fields a kind retired, with the reason for each. Run before the body is checked
 * against the schema, which does not list them and would only call them unknown.
 */
export function refuseRetiredFields (kind: JobKind, body: unknown): void {
  if (body === null || typeof body !== 'object') return
  const sent = Object.entries(kind.retiredFields ?? {}).filter(([field]) => Object.hasOwn(body, field))
  if (sent.length > 0) {
    throw invalid('FIELD_RETIRED', sent.map(([field, why]) => `${field} is not accepted: ${why}; remove it`).join('. '), { fields: sent.map(([f]) => f) })
  }
}

/**
 * Accepts a job: the kind's own checks and the callback target first, then the idempotency key,
 * the job and its first timeline entry in one transaction, so a key can never point at a job that
 * does not exist. Only our own database changes, so a failed submission can simply be sent again.
 */
export async function submitJob (deps: SubmitDeps, request: SubmitRequest): Promise<Submitted> {
  const { kind, actor, idempotencyKey } = request
  if (kind.validate !== undefined) await kind.validate(request.body as never, { caller: actor.key })
  const { callbackUrl, labels, ...input } = request.body as { callbackUrl?: string, labels?: Record<string, string> }
  if (typeof callbackUrl === 'string') await refuseCallbackTarget(callbackUrl, deps.callbackPolicy)
  const row = newJobRow(deps, kind, actor, input, labels, callbackUrl)
  const job = toJobResource(row)
  const now = row.createdAt
  const first = { type: 'status', data: { to: 'queued', by: actorRecord(actor) } }

  if (idempotencyKey === undefined) {
    // The store writes the three together (on PostgreSQL one statement that also wakes the other replicas).
    await deps.store.insertJob({ row, labels: labels ?? {}, entry: first })
    return { job, replayed: false, othersWoken: true }
  }
  const fingerprint = sha256Hex(canonicalJson({ kind: kind.name, body: request.body }))
  return await deps.store.transaction(async (tx) => {
    const earlier = await earlierAnswer(tx, actor.team, idempotencyKey, fingerprint, now)
    if (earlier !== undefined) return earlier
    const claimed = await tx.idempotency.claim({
      team: actor.team,
      key: idempotencyKey,
      fingerprint,
      jobId: row.id,
      answer: JSON.stringify(job),
      createdAt: now,
      expiresAt: now + deps.idempotencyTtlMs
    })
    if (!claimed) {
      // Another request with this key committed between our read and our insert.
      const raced = await earlierAnswer(tx, actor.team, idempotencyKey, fingerprint, now)
      if (raced !== undefined) return raced
      throw conflict('IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still being processed; retry it unchanged shortly')
    }
    await tx.jobs.insert(row)
    await tx.labels.add(row.id, labels ?? {})
    await tx.events.append(row.id, first.type, first.data, now)
    return { job, replayed: false }
  })
}

async function refuseCallbackTarget (url: string, policy: CallbackPolicy): Promise<void> {
  try {
    await checkCallbackTarget(url, policy)
  } catch (err) {
    if (err instanceof CallbackRefused) throw invalid('CALLBACK_URL_REFUSED', err.message)
    throw err
  }
}

function newJobRow (deps: SubmitDeps, kind: JobKind, actor: Actor, input: Record<string, unknown>,
  labels: Record<string, string> | undefined, callbackUrl: string | undefined): JobRow {
  const now = deps.now()
  const deadlineMs = Math.min(kind.deadlineMs?.(input as never) ?? deps.jobMaxDurationMs, deps.jobMaxDurationMs)
  return {
    // Time-ordered ids keep "newest first" stable for jobs created in the same millisecond.
    id: uuidv7(),
    kind: kind.name,
    status: 'queued',
    caller: actor.key,
    team: actor.team,
    cancelledBy: null,
    wokenAt: null,
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
    remoteRef: null,
    cacheHit: null,
    callLatencyMs: null
  }
}

async function earlierAnswer (tx: Repositories, team: string, key: string, fingerprint: string, now: number): Promise<Submitted | undefined> {
  const existing = await tx.idempotency.find(team, key)
  if (existing === undefined) return undefined
  if (existing.expiresAt <= now) {
    await tx.idempotency.remove(team, key)
    return undefined
  }
  if (existing.fingerprint !== fingerprint) {
    throw unprocessable('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was already used with a different request body; use a new key for a new request')
  }
  return { job: JSON.parse(existing.answer) as JobResource, replayed: true }
}
