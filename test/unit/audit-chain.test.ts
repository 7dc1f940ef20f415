import { test } from 'node:test'
import assert from 'node:assert/strict'
import { GENESIS_HASH, hashRecord, verifyRecords, type StoredAuditRecord } from '../../src/audit/chain.ts'
import { canonicalJson, sha256Hex } from '../../src/canonical.ts'

function chain (n: number): StoredAuditRecord[] {
  const records: StoredAuditRecord[] = []
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= n; seq++) {
    const content = { seq, id: `id-${seq}`, at: 1_700_000_000_000 + seq, event: 'job.succeeded', jobId: `job-${seq}`, kind: 'k', actor: 'a', details: { n: seq, nested: { b: 1, a: [1, 2] } } }
    const hash = hashRecord(prev, content)
    records.push({ ...content, prevHash: prev, hash })
    prev = hash
  }
  return records
}

test('audit chain: canonical JSON does not depend on key order', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: 2, c: 3 } }), '{"a":{"c":3,"d":2},"b":1}')
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
})

test('audit chain: each hash covers the previous hash and the record', () => {
  const [first, second] = chain(2)
  assert.equal(first!.hash, sha256Hex(`${GENESIS_HASH}\n${canonicalJson({ seq: 1, id: 'id-1', at: 1_700_000_000_001, event: 'job.succeeded', jobId: 'job-1', kind: 'k', actor: 'a', details: { n: 1, nested: { b: 1, a: [1, 2] } } })}`))
  assert.equal(second!.prevHash, first!.hash)
})

test('audit chain: a clean chain verifies, and verification can resume page by page', () => {
  const records = chain(10)
  const whole = verifyRecords(records, GENESIS_HASH, 0)
  assert.deepEqual(whole, { ok: true, lastHash: records[9]!.hash, lastSeq: 10 })
  const half = verifyRecords(records.slice(0, 5), GENESIS_HASH, 0)
  assert.ok(half.ok)
  assert.deepEqual(verifyRecords(records.slice(5), half.lastHash, half.lastSeq), whole)
})

test('audit chain: an edited, re-linked, reordered or missing record is named', () => {
  const edited = chain(5)
  edited[2] = { ...edited[2]!, details: { n: 999 } }
  assert.deepEqual(verifyRecords(edited, GENESIS_HASH, 0), { ok: false, broken: { seq: 3, id: 'id-3', reason: 'hash_mismatch' } })

  // Recomputing the edited record's own hash still breaks the link to the next one.
  const rehashed = chain(5)
  const { prevHash, hash: _old, ...content } = { ...rehashed[2]!, details: { n: 999 } }
  rehashed[2] = { ...content, prevHash, hash: hashRecord(prevHash, content) }
  assert.deepEqual(verifyRecords(rehashed, GENESIS_HASH, 0), { ok: false, broken: { seq: 4, id: 'id-4', reason: 'prev_hash_mismatch' } })

  const gap = chain(5).filter((r) => r.seq !== 3)
  assert.deepEqual(verifyRecords(gap, GENESIS_HASH, 0), { ok: false, broken: { seq: 4, id: 'id-4', reason: 'sequence_gap' } })
})
