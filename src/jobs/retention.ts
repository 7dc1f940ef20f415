import { hostname } from 'node:os'
import { randomUUID } from 'node:crypto'
import { basename } from 'node:path'
import { setImmediate as turn } from 'node:timers/promises'
import { performance } from 'node:perf_hooks'
import type { Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'
import { createScheduler } from '../scheduler.ts'
import type { Repositories, Store } from '../store/database.ts'
import { noneRemoved, type PrunedRows, type PrunedTable } from '../store/retention-repository.ts'
import type { StoredAuditRecord } from '../audit/chain.ts'
import { continueChain, GENESIS, writeArchive, type ChainPosition } from '../audit/archive.ts'
import { CHECKPOINT_EVENT, isCheckpoint, type CheckpointDetails } from '../audit/verify.ts'

/** The row of `maintenance_tasks` that makes one replica at a time prune. */
export const RETENTION_TASK = 'retention'
const DAY_MS = 86_400_000
/** Audit records per archive file. */
const FILE_RECORDS = 10_000
/** Archived audit records removed (and the checkpoint moved) per transaction. */
const CHECKPOINT_EVERY = 1000
/** Rows per transaction when pruning what hangs from no job (events, expired keys, schedule runs). */
const ROW_BATCH = 1000
const READ_PAGE = 1000

export interface RetentionOptions {
  /** Keep this many days; 0 keeps everything (then nothing here runs). */
  retentionDays: number
  /** How often a pass runs (once across replicas). */
  intervalMs: number
  /** Jobs per transaction. */
  batchSize: number
  /** Pause on the service's clock between two write batches; 0: only a turn of the event loop. */
  batchPauseMs: number
  archiveDir: string
  /** How long a replica holds the task without renewing it (renewed at every batch). */
  leaseMs: number
}

export interface RetentionDeps {
  store: Store
  clock: Clock
  log: Logger
  options: RetentionOptions
  owner?: string
  /** Rows a batch removed from a table (metrics). */
  onPruned?: (table: PrunedTable, rows: number) => void
  /** Audit records archived and removed (metrics). */
  onArchived?: (records: number) => void
  /** A pass ended: how, and what it did. */
  onPass?: (report: PassReport) => void
}

export interface PassReport {
  outcome: 'completed' | 'failed' | 'lease_lost' | 'interrupted'
  cutoff: number
  pruned: PrunedRows
  archivedRecords: number
  archiveFiles: string[]
  /** Wall time the pass took (it is work, not a span of the service's clock). */
  durationMs: number
  error?: string
}

class LeaseLost extends Error {}
class Stopping extends Error {}

/**
 * Retention: one replica at a time (a lease in `maintenance_tasks`), every `intervalMs`, removes
 * terminal jobs that finished more than `retentionDays` ago with everything that hangs from them,
 * webhook events that name no job, expired idempotency keys and old schedule runs, in small
 * transactions with a turn of the event loop between them; then archives the audit records older
 * than the cutoff to gzip JSON Lines files and replaces them by a checkpoint record, so the chain
 * kept in the database still verifies and the archived part verifies offline.
 */
export function createRetention (deps: RetentionDeps) {
  const { store, clock, options, log } = deps
  const owner = deps.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  let stopping = false
  let stopped = new AbortController()

  /** Between two write batches: requests waiting for the database or the event loop go first. */
  async function breathe (): Promise<void> {
    if (options.batchPauseMs > 0) await clock.sleep(options.batchPauseMs, stopped.signal)
    else await turn()
  }

  /** Called before every batch: a pass stops between batches when the process shuts down or the lease is gone. */
  async function keepLease (): Promise<void> {
    if (stopping) throw new Stopping('the process is shutting down')
    if (!await store.tasks.renew(RETENTION_TASK, owner, clock.now() + options.leaseMs)) throw new LeaseLost('another replica took the retention task over')
  }

  async function drain (table: PrunedTable, batch: (tx: Repositories) => Promise<number>, pruned: PrunedRows): Promise<void> {
    for (;;) {
      await keepLease()
      const removed = await store.transaction(batch)
      pruned[table] += removed
      if (removed > 0) deps.onPruned?.(table, removed)
      if (removed < ROW_BATCH) return
      await breathe()
    }
  }

  async function pruneJobs (cutoff: number, pruned: PrunedRows): Promise<void> {
    for (;;) {
      await keepLease()
      const batch = await store.transaction(async (tx) => await tx.retention.pruneJobs(cutoff, options.batchSize))
      for (const [table, rows] of Object.entries(batch) as Array<[PrunedTable, number]>) {
        pruned[table] += rows
        if (rows > 0) deps.onPruned?.(table, rows)
      }
      if (batch.jobs < options.batchSize) return
      await breathe()
    }
  }

  /** Records after `afterSeq`, oldest first, while they are older than `cutoff`, at most `limit`. */
  async function oldRecords (afterSeq: number, cutoff: number, limit: number): Promise<StoredAuditRecord[]> {
    const found: StoredAuditRecord[] = []
    for (let after = afterSeq; found.length < limit;) {
      await turn()
      const page = await store.audit.page(after, Math.min(READ_PAGE, limit - found.length))
      for (const record of page) {
        if (record.at >= cutoff || isCheckpoint(record)) return found
        found.push(record)
      }
      if (page.length === 0) return found
      after = page[page.length - 1]!.seq
    }
    return found
  }

  /** Records `afterSeq + 1` … `throughSeq`, which must all be there. */
  async function recordsThrough (afterSeq: number, throughSeq: number): Promise<StoredAuditRecord[]> {
    const found: StoredAuditRecord[] = []
    for (let after = afterSeq; after < throughSeq;) {
      await turn()
      const page = (await store.audit.page(after, Math.min(READ_PAGE, throughSeq - after))).filter((r) => r.seq <= throughSeq)
      if (page.length === 0) break
      found.push(...page)
      after = page[page.length - 1]!.seq
    }
    return found
  }

  /**
   * Archives the audit records older than the cutoff, one file of up to FILE_RECORDS at a time:
   * they are checked to continue the chain, written to a file made durable, noted in the manifest,
   * then removed in steps, each replacing them by a checkpoint that stands where the newest removed
   * record stood. A pass cut short resumes from the checkpoint, with the file it names.
   */
  async function archiveAudit (cutoff: number, report: PassReport): Promise<void> {
    for (;;) {
      await keepLease()
      const [first] = await store.audit.page(0, 1)
      if (first === undefined) return
      let anchor: ChainPosition = GENESIS
      let fromSeq = 1
      let file: { name: string, first: number, last: number, sha256: string } | undefined
      if (isCheckpoint(first)) {
        anchor = { seq: first.seq, hash: first.hash }
        fromSeq = first.seq
        const details = first.details as CheckpointDetails
        if (details.fileLastSeq > first.seq) file = { name: details.file, first: details.fileFirstSeq, last: details.fileLastSeq, sha256: details.sha256 }
      } else if (first.seq !== 1) {
        throw new Error(`the audit chain kept in the database starts at record ${first.seq} without a checkpoint: records were removed without being archived; nothing more is archived until that is looked into (GET /v1/audit/verify names it)`)
      }
      const records = file === undefined ? await oldRecords(anchor.seq, cutoff, FILE_RECORDS) : await recordsThrough(anchor.seq, file.last)
      if (records.length === 0) return
      if (file !== undefined && records[records.length - 1]!.seq !== file.last) {
        throw new Error(`audit records ${anchor.seq + 1}–${file.last} belong to archive file ${file.name} but are no longer all in the database`)
      }
      // Never archive a chain that does not verify: the checkpoint would vouch for it.
      await continueChain(anchor, 'the database', (async function * () { for (const record of records) yield { record, line: null } })())
      if (file === undefined) {
        const written = await writeArchive(options.archiveDir, records)
        file = { name: basename(written.file), first: written.first, last: written.last, sha256: written.sha256 }
        await store.audit.recordArchive({ file: file.name, firstSeq: written.first, lastSeq: written.last, records: written.records, sha256: written.sha256, archivedAt: clock.now() })
        report.archiveFiles.push(file.name)
        log.info({ file: written.file, first: written.first, last: written.last }, 'audit records archived')
      }
      for (let i = 0; i < records.length; i += CHECKPOINT_EVERY) {
        await keepLease()
        const step = records.slice(i, i + CHECKPOINT_EVERY)
        const newest = step[step.length - 1]!
        const details: CheckpointDetails = { archivedThrough: newest.seq, file: file.name, fileFirstSeq: file.first, fileLastSeq: file.last, sha256: file.sha256 }
        const checkpoint: StoredAuditRecord = {
          seq: newest.seq, id: randomUUID(), at: clock.now(), event: CHECKPOINT_EVENT, jobId: null, kind: null, actor: null, details, prevHash: newest.prevHash, hash: newest.hash
        }
        const since = fromSeq
        await store.transaction(async (tx) => { await tx.audit.replaceWithCheckpoint(since, checkpoint) })
        fromSeq = newest.seq
        report.archivedRecords += step.length
        deps.onArchived?.(step.length)
        await breathe()
      }
    }
  }

  /** One pass; the caller holds the task's lease. */
  async function pass (): Promise<PassReport> {
    const startedAt = clock.now()
    const began = performance.now()
    const report: PassReport = { outcome: 'completed', cutoff: startedAt - options.retentionDays * DAY_MS, pruned: noneRemoved(), archivedRecords: 0, archiveFiles: [], durationMs: 0 }
    const { cutoff, pruned } = report
    try {
      await pruneJobs(cutoff, pruned)
      await drain('webhook_events', async (tx) => await tx.retention.pruneUnattachedWebhookEvents(cutoff, ROW_BATCH), pruned)
      await drain('idempotency_keys', async (tx) => await tx.retention.pruneExpiredIdempotencyKeys(startedAt, ROW_BATCH), pruned)
      await drain('schedule_runs', async (tx) => await tx.retention.pruneScheduleRuns(cutoff, ROW_BATCH), pruned)
      await archiveAudit(cutoff, report)
    } catch (err) {
      report.outcome = err instanceof LeaseLost ? 'lease_lost' : err instanceof Stopping ? 'interrupted' : 'failed'
      report.error = (err as Error).message
      if (report.outcome === 'failed') log.error({ err }, 'retention pass failed; it runs again at the next interval')
      else log.warn({ reason: report.error }, 'retention pass stopped between two batches')
    }
    if (report.outcome !== 'lease_lost') {
      // An interrupted pass is due again at once, for whichever replica is up.
      const nextRunAt = report.outcome === 'interrupted' ? clock.now() : startedAt + options.intervalMs
      await store.tasks.finish(RETENTION_TASK, owner, { nextRunAt, outcome: report.outcome, ...(report.outcome === 'completed' ? { completedAt: clock.now() } : {}) })
    }
    report.durationMs = Math.round(performance.now() - began)
    log.info({ outcome: report.outcome, durationMs: report.durationMs, cutoff: new Date(cutoff).toISOString(), pruned, archivedRecords: report.archivedRecords, archiveFiles: report.archiveFiles }, 'retention pass ended')
    deps.onPass?.(report)
    return report
  }

  const scheduler = createScheduler<true>({
    claim: async () => (await store.tasks.claim(RETENTION_TASK, owner, clock.now(), options.leaseMs) ? true : undefined),
    nextDueAt: async () => await store.tasks.nextDueAt(RETENTION_TASK),
    run: async () => { await pass() }
  }, {
    concurrency: 1,
    // Another replica only ever moves the next pass later, so a long poll is enough.
    pollMs: Math.min(options.intervalMs, 60_000),
    clock,
    onError: (err) => { log.error({ err }, 'retention could not check whether a pass is due') }
  })

  return {
    owner,
    start (): void {
      stopping = false
      stopped = new AbortController()
      scheduler.start()
    },
    /** Stops looking for passes; a pass under way stops at its next batch (see `settled`). */
    stop (): void {
      stopping = true
      // A pass pausing between batches stops at once.
      stopped.abort()
      scheduler.stop()
    },
    /** Resolves once the pass under way (if any) has ended. */
    settled: scheduler.settled
  }
}

export type Retention = ReturnType<typeof createRetention>
