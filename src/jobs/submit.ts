import { v7 as uuidv7 } from 'uuid'
import { Type, type TObject } from 'typebox'
import { canonicalJson, sha256Hex } from '../canonical.ts'
import { conflict, invalid, unprocessable } from '../errors.ts'
import { CallbackRefused, checkCallbackTarget, type CallbackPolicy } from '../callbacks/target.ts'
import type { Repositories, Store } from '../store/database.ts'
import type { JobRow } from '../store/jobs-repository.ts'
import type { JobResource } from '../schemas/job.ts'
import { defaultsOptional, Labels } from '../schemas/common.ts'
import { JOB_PRIORITIES } from '../schemas/job.ts'
import type { JobKind, JobPriority } from './kind.ts'
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
  /** Where the job comes from when not from a plain submission. */
  origin?: JobOrigin
}

/** A job made from another (a re-run) or by a schedule, linked to where it came from. */
export interface JobOrigin {
  /** Re-runs this terminal job; `rows`: only these rows of it (indexes in the original), chosen as `which`. */
  rerunOf?: { jobId: string, rows?: { which: string, rows: number[] } }
  /** Made by this schedule for this tick. */
  schedule?: { id: string, name: string, tickAt: number, catchUp: boolean }
}

export interface Submitted {
  job: JobResource
  /** The key had been used before with this body: `job` is the first answer, nothing new was created. */
  replayed: boolean
  /** The store already woke the workers of other processes with the job's commit. */
  othersWoken?: boolean
}

/** A job checked and built, ready to be written with `insertJob` in a transaction. */
export interface PreparedJob {
  row: JobRow
  labels: Record<string, string>
  actor: Actor
  origin: JobOrigin
}

/**
 * What `POST /v1/jobs/<kind>` takes: the kind's body and the fields common to every kind. In the
 * OpenAPI document (and so in generated clients) a field with a default is optional; validation fills it in.
 */
export function submissionBody (kind: JobKind): TObject {
  return defaultsOptional(Type.Object({
    ...kind.body.properties,
    callbackUrl: Type.Optional(Type.String({ format: 'uri', maxLength: 2048, description: 'Where the signed completion event is posted' })),
    labels: Type.Optional(Labels),
    priority: Type.Enum([...JOB_PRIORITIES], {
      default: 'normal',
      'x-error-code': 'PRIORITY_INVALID',
      description: "The job's share of the Genesys rate budget among your team's jobs: while several of them wait for it, a `high` " +
        "job gets four requests sent for a `normal` job's two and a `low` job's one. Teams take equal turns whatever the priorities " +
        '(another team\'s big job never makes yours wait behind all of its requests), and the rate limit holds.'
    })
  }, { additionalProperties: false, examples: [kind.example] }))
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
 * The checks that need no transaction (the kind's own, the callback target, which may resolve a
 * name), then the job's row. Nothing is written yet.
 */
export async function prepareJob (deps: Pick<SubmitDeps, 'now' | 'callbackPolicy' | 'jobMaxDurationMs'>, kind: JobKind, actor: Actor,
  body: Record<string, unknown>, origin: JobOrigin = {}): Promise<PreparedJob> {
  if (kind.validate !== undefined) await kind.validate(body as never, { caller: actor.key })
  const { callbackUrl, labels, priority, ...input } = body as { callbackUrl?: string, labels?: Record<string, string>, priority?: JobPriority }
  if (typeof callbackUrl === 'string') await refuseCallbackTarget(callbackUrl, deps.callbackPolicy)
  return { row: newJobRow(deps, kind, actor, input, { labels, callbackUrl, priority }, origin), labels: labels ?? {}, actor, origin }
}

/** Writes a prepared job: its row, labels and first timeline entry, and the link back from the job it re-runs. */
export async function insertJob (tx: Repositories, job: PreparedJob): Promise<void> {
  const { row, origin } = job
  await tx.jobs.insert(row)
  await tx.labels.add(row.id, job.labels)
  const by = actorRecord(job.actor)
  await tx.events.append(row.id, 'status', {
    to: 'queued',
    by,
    ...(origin.rerunOf === undefined ? {} : { rerunOf: origin.rerunOf.jobId, ...(origin.rerunOf.rows === undefined ? {} : { rows: origin.rerunOf.rows.which }) }),
    ...(origin.schedule === undefined ? {} : { schedule: { id: origin.schedule.id, name: origin.schedule.name, tickAt: new Date(origin.schedule.tickAt).toISOString(), catchUp: origin.schedule.catchUp } })
  }, row.createdAt)
  if (origin.rerunOf !== undefined) await tx.events.append(origin.rerunOf.jobId, 'rerun', { jobId: row.id, by }, row.createdAt)
}

/**
 * Accepts a job: the kind's own checks and the callback target first, then the idempotency key,
 * the job and its first timeline entry in one transaction, so a key can never point at a job that
 * does not exist. Only our own database changes, so a failed submission can simply be sent again.
 */
export async function submitJob (deps: SubmitDeps, request: SubmitRequest): Promise<Submitted> {
  const { kind, actor, idempotencyKey } = request
  const prepared = await prepareJob(deps, kind, actor, request.body, request.origin)
  const { row } = prepared
  const job = toJobResource(row)
  const now = row.createdAt

  const plain = request.origin?.rerunOf === undefined && request.origin?.schedule === undefined
  if (idempotencyKey === undefined && plain) {
    // The hot path: the store writes the job, its labels and first timeline entry together (on
    // PostgreSQL one statement that also wakes the other replicas).
    await deps.store.insertJob({ row, labels: prepared.labels, entry: { type: 'status', data: { to: 'queued', by: actorRecord(actor) } } })
    return { job, replayed: false, othersWoken: true }
  }
  return await deps.store.transaction(async (tx) => {
    if (idempotencyKey !== undefined) {
      const fingerprint = sha256Hex(canonicalJson({ kind: kind.name, body: request.body, ...(request.origin?.rerunOf === undefined ? {} : { rerunOf: request.origin.rerunOf }) }))
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
    }
    await insertJob(tx, prepared)
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

function newJobRow (deps: Pick<SubmitDeps, 'now' | 'jobMaxDurationMs'>, kind: JobKind, actor: Actor, input: Record<string, unknown>,
  { labels, callbackUrl, priority }: { labels?: Record<string, string>, callbackUrl?: string, priority?: JobPriority }, origin: JobOrigin): JobRow {
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
    priority: priority ?? 'normal',
    rerunOf: origin.rerunOf?.jobId ?? null,
    rerunRows: origin.rerunOf?.rows === undefined ? null : JSON.stringify(origin.rerunOf.rows),
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
