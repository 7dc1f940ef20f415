import type { Generated, Kysely } from 'kysely'

/** The two databases the store runs on; only src/store ever asks which one it is. */
export type DialectName = 'sqlite' | 'postgres'

/** Row shapes as Kysely sees them (CamelCasePlugin maps to snake_case columns). Times are epoch ms. */
export interface JobsTable {
  id: string
  kind: string
  status: string
  caller: string
  input: string
  labels: string
  callbackUrl: string | null
  step: string
  state: string
  stepAttempt: number
  result: string | null
  error: string | null
  progressDone: number | null
  progressTotal: number | null
  waitReason: string | null
  runAt: number
  deadlineAt: number
  leaseOwner: string | null
  leaseToken: string | null
  leaseExpiresAt: number | null
  claims: number
  cancelRequested: number
  createdAt: number
  startedAt: number | null
  finishedAt: number | null
  updatedAt: number
  remoteRef: string | null
  /** A succeeded job's kind said a result cache answered it (1) or not (0); null when it says nothing. */
  cacheHit: number | null
  /** How long a succeeded job's one Genesys call took, as its kind reports it. */
  callLatencyMs: number | null
  /** The submitting key's team: the job is visible to it (and to jobs:admin keys) only. */
  team: string
  /** Who asked for the cancel, `{ key, team }` as JSON, while it is pending or once done. */
  cancelledBy: string | null
  /** When an inbound event last asked the job to act at once (see jobs.wake). */
  wokenAt: number | null
  /** Its turns among its team's jobs at the Genesys pacer: `high`, `normal` or `low`. */
  priority: string
  /** The job this one re-runs, if it is a re-run. */
  rerunOf: string | null
  /** A re-run of some rows only: `{ which, rows }` as JSON, `rows` being indexes in the original job. */
  rerunRows: string | null
}

export interface JobLabelsTable {
  jobId: string
  key: string
  value: string
}

export interface JobEventsTable {
  seq: Generated<number>
  jobId: string
  at: number
  type: string
  data: string
}

export interface IdempotencyKeysTable {
  team: string
  key: string
  fingerprint: string
  jobId: string
  statusCode: number
  response: string
  createdAt: number
  expiresAt: number
}

export interface AuditRecordsTable {
  seq: number
  id: string
  at: number
  event: string
  jobId: string | null
  kind: string | null
  actor: string | null
  details: string
  prevHash: string
  hash: string
}

export interface AuditHeadTable {
  id: number
  seq: number
  hash: string
}

export interface CallbackOutboxTable {
  id: string
  jobId: string
  eventType: string
  url: string
  payload: string
  status: string
  attempts: number
  nextAttemptAt: number
  lastError: string | null
  createdAt: number
  deliveredAt: number | null
}

export interface WebhookEventsTable {
  source: string
  eventId: string
  receivedAt: number
  jobId: string | null
  eventType: string
  payload: string
}

export interface JobItemsTable {
  jobId: string
  idx: number
  data: string
  /** What the item came to, as its kind names it (e.g. match, mismatch, error); null for items saved before 0009. */
  outcome: string | null
}

export interface JobEffectsTable {
  jobId: string
  key: string
  item: number | null
  markedAt: number
  claim: number
}

export interface MaintenanceTasksTable {
  name: string
  owner: string | null
  leaseExpiresAt: number | null
  nextRunAt: number
  lastFinishedAt: number | null
  lastOutcome: string | null
}

export interface AuditArchivesTable {
  file: string
  firstSeq: number
  lastSeq: number
  records: number
  sha256: string
  archivedAt: number
}

export interface SchedulesTable {
  id: string
  team: string
  name: string
  createdBy: string
  cron: string
  timeZone: string
  kind: string
  body: string
  labels: string
  callbackUrl: string | null
  overlap: string
  catchUp: string
  enabled: number
  nextTickAt: number | null
  createdAt: number
  updatedAt: number
}

export interface ScheduleRunsTable {
  scheduleId: string
  tickAt: number
  /** created, skipped (overlap), missed (no replica ran in time) or failed (the job could not be made). */
  outcome: string
  jobId: string | null
  catchUp: number
  reason: string | null
  recordedAt: number
}

export interface Database {
  jobs: JobsTable
  jobLabels: JobLabelsTable
  jobEvents: JobEventsTable
  idempotencyKeys: IdempotencyKeysTable
  auditRecords: AuditRecordsTable
  auditHead: AuditHeadTable
  callbackOutbox: CallbackOutboxTable
  webhookEvents: WebhookEventsTable
  jobItems: JobItemsTable
  jobEffects: JobEffectsTable
  maintenanceTasks: MaintenanceTasksTable
  auditArchives: AuditArchivesTable
  schedules: SchedulesTable
  scheduleRuns: ScheduleRunsTable
}

/** A connection or a transaction: repositories are bound to one of them. */
export type Connection = Kysely<Database>
