import { canonicalJson, sha256Hex } from '../canonical.ts'

export const GENESIS_HASH = '0'.repeat(64)

/** The part of an audit record that its hash covers. */
export interface AuditContent {
  seq: number
  id: string
  at: number
  event: string
  jobId: string | null
  kind: string | null
  actor: string | null
  details: unknown
}

export function hashRecord (prevHash: string, content: AuditContent): string {
  return sha256Hex(`${prevHash}\n${canonicalJson(content)}`)
}

export interface StoredAuditRecord extends AuditContent {
  prevHash: string
  hash: string
}

export type ChainBreak = { seq: number, id: string, reason: 'prev_hash_mismatch' | 'hash_mismatch' | 'sequence_gap' }

/**
 * Walks records in sequence order. `expectedPrev` is the hash the next record must point to, so a
 * caller can verify a long chain page by page.
 */
export function verifyRecords (records: Iterable<StoredAuditRecord>, expectedPrev: string, expectedSeq: number):
{ ok: true, lastHash: string, lastSeq: number } | { ok: false, broken: ChainBreak } {
  let prev = expectedPrev
  let seq = expectedSeq
  for (const record of records) {
    if (record.seq !== seq + 1) return { ok: false, broken: { seq: record.seq, id: record.id, reason: 'sequence_gap' } }
    if (record.prevHash !== prev) return { ok: false, broken: { seq: record.seq, id: record.id, reason: 'prev_hash_mismatch' } }
    const { prevHash, hash, ...content } = record
    if (hashRecord(prevHash, content) !== hash) return { ok: false, broken: { seq: record.seq, id: record.id, reason: 'hash_mismatch' } }
    prev = hash
    seq = record.seq
  }
  return { ok: true, lastHash: prev, lastSeq: seq }
}
