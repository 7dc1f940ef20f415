import { performance } from 'node:perf_hooks'
import { busy } from '../errors.ts'
import { GENESIS_HASH, hashRecord, type StoredAuditRecord } from './chain.ts'
import { createSlices } from './slices.ts'

/** The event of the record that stands in for archived records (see src/jobs/retention.ts). */
export const CHECKPOINT_EVENT = 'audit.checkpoint'

/**
 * What a checkpoint record's details say. It takes the place of the newest archived record: same
 * `seq`, same `prevHash`, same `hash`, so the record after it still points at it; its own content
 * is not what that hash covers (the archived record's is), and verifiers start from it.
 */
export interface CheckpointDetails {
  /** Every record up to this seq is in archive files, none in the database. */
  archivedThrough: number
  /** The archive file holding the newest archived records, and the records it holds. */
  file: string
  fileFirstSeq: number
  fileLastSeq: number
  sha256: string
}

export const isCheckpoint = (record: { event: string }): boolean => record.event === CHECKPOINT_EVENT

/** How verification reads the chain kept in the database. */
export interface ChainReader {
  /** Records with `seq > afterSeq` (the checkpoint included), oldest first, at most `limit`. */
  page (afterSeq: number, limit: number): Promise<StoredAuditRecord[]>
  /** The chain's end as the appends left it: the newest seq and its hash. */
  head (): Promise<{ seq: number, hash: string }>
  /** The lowest seq in the database (the checkpoint, or record 1), if any. */
  lowestSeq (): Promise<number | undefined>
}

export type BreakReason = 'prev_hash_mismatch' | 'hash_mismatch' | 'sequence_gap' | 'head_mismatch' | 'unexpected_checkpoint'

export interface CheckpointSeen { seq: number, hash: string, at: number, details: CheckpointDetails }

export type VerifyResult =
  | { ok: true, records: number, headHash: string, checkpoint: CheckpointSeen | null }
  | { ok: false, records: number, broken: { seq: number, id: string | null, reason: BreakReason }, checkpoint: CheckpointSeen | null }

export interface VerifyProgress { done: number, total: number }

/** Records read at a time: a page is read (and, on PostgreSQL, parsed) in one go on the event loop. */
const PAGE = 500

/**
 * Verifies the chain kept in the database: from the checkpoint (or from the first record when
 * nothing was archived) to the head. The head is read first, so records appended meanwhile are
 * left for the next verification instead of racing it. The work runs in slices that yield to the
 * event loop, so the service keeps answering however long the chain is.
 */
export async function verifyLiveChain (reader: ChainReader, progress?: (p: VerifyProgress) => void): Promise<VerifyResult> {
  const slices = createSlices()
  const head = await reader.head()
  let atSeq = 0
  let atHash = GENESIS_HASH
  let checkpoint = null as CheckpointSeen | null
  let from = 0
  let records = 0
  let first = true
  const broken = (seq: number, id: string | null, reason: BreakReason): VerifyResult => ({ ok: false, records, broken: { seq, id, reason }, checkpoint })
  const anchorAt = (record: StoredAuditRecord) => {
    atSeq = record.seq
    atHash = record.hash
    from = record.seq
    checkpoint = { seq: record.seq, hash: record.hash, at: record.at, details: record.details as CheckpointDetails }
  }

  while (atSeq < head.seq) {
    await slices.yieldNow()
    const rows = await reader.page(atSeq, PAGE)
    if (rows.length === 0) break
    for (const record of rows) {
      if (record.seq > head.seq) break
      await slices.pause()
      if (isCheckpoint(record)) {
        // The first row, or archiving moved on while we read: it must then be the lowest row left.
        const moved = !first && record.seq >= atSeq + 1 && (record.seq > atSeq + 1 || record.prevHash === atHash) && await reader.lowestSeq() === record.seq
        if (!first && !moved) return broken(record.seq, record.id, 'unexpected_checkpoint')
        anchorAt(record)
      } else {
        if (first && record.seq !== 1) return broken(record.seq, record.id, 'sequence_gap')
        if (record.seq !== atSeq + 1) return broken(record.seq, record.id, 'sequence_gap')
        if (record.prevHash !== atHash) return broken(record.seq, record.id, 'prev_hash_mismatch')
        const { prevHash, hash, ...content } = record
        if (hashRecord(prevHash, content) !== hash) return broken(record.seq, record.id, 'hash_mismatch')
        atSeq = record.seq
        atHash = hash
        records += 1
      }
      first = false
      progress?.({ done: atSeq - from, total: head.seq - from })
    }
  }
  // A deleted tail leaves a consistent chain behind; the head row remembers where it really ends.
  if (head.seq !== atSeq || head.hash !== atHash) return broken(atSeq + 1, null, 'head_mismatch')
  return { ok: true, records, headHash: atHash, checkpoint }
}

/**
 * One verification at a time in this process: a second caller is refused with an estimate of when
 * the running one ends (from its pace so far), instead of doubling the work.
 */
export function createVerifyGate () {
  let running: { startedAt: number, progress: VerifyProgress } | undefined
  function retryAfterSeconds (): number {
    if (running === undefined) return 1
    const { done, total } = running.progress
    const elapsed = (performance.now() - running.startedAt) / 1000
    if (done <= 0 || total <= done) return Math.max(1, Math.ceil(elapsed) || 1)
    return Math.max(1, Math.ceil(elapsed * (total - done) / done))
  }
  return {
    get running (): boolean { return running !== undefined },
    async run (reader: ChainReader): Promise<VerifyResult> {
      if (running !== undefined) {
        const seconds = retryAfterSeconds()
        throw busy('AUDIT_VERIFY_RUNNING', `An audit verification is already running in this process (${running.progress.done} of ${running.progress.total} records so far); one runs at a time: retry after ${seconds} s`, seconds)
      }
      const current = { startedAt: performance.now(), progress: { done: 0, total: 0 } }
      running = current
      try {
        return await verifyLiveChain(reader, (p) => { current.progress = p })
      } finally {
        running = undefined
      }
    }
  }
}

export type VerifyGate = ReturnType<typeof createVerifyGate>
