import { test } from 'node:test'
import assert from 'node:assert/strict'
import { GENESIS_HASH, hashRecord, type StoredAuditRecord } from '../../src/audit/chain.ts'
import { CHECKPOINT_EVENT, createVerifyGate, verifyLiveChain, type ChainReader } from '../../src/audit/verify.ts'
import { DomainError } from '../../src/errors.ts'

function chain (n: number): StoredAuditRecord[] {
  const records: StoredAuditRecord[] = []
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= n; seq++) {
    const content = { seq, id: `id-${seq}`, at: seq, event: 'job.succeeded', jobId: null, kind: null, actor: null, details: { n: seq } }
    const hash = hashRecord(prev, content)
    records.push({ ...content, prevHash: prev, hash })
    prev = hash
  }
  return records
}

/** A checkpoint standing where record `at` stood. */
const checkpointFor = (record: StoredAuditRecord): StoredAuditRecord => ({
  ...record, id: `checkpoint-${record.seq}`, event: CHECKPOINT_EVENT, details: { archivedThrough: record.seq, file: 'f', fileFirstSeq: 1, fileLastSeq: record.seq, sha256: 'x' }
})

/** Records kept in memory; `onPage` may change them between two pages (archiving meanwhile). */
function reader (rows: StoredAuditRecord[], head = rows[rows.length - 1]!, onPage?: (afterSeq: number) => void): ChainReader & { rows: StoredAuditRecord[] } {
  const state = { rows }
  return {
    get rows () { return state.rows },
    set rows (next) { state.rows = next },
    async page (afterSeq, limit) {
      onPage?.(afterSeq)
      return state.rows.filter((r) => r.seq > afterSeq).slice(0, limit)
    },
    async head () { return { seq: head.seq, hash: head.hash } },
    async lowestSeq () { return state.rows[0]?.seq }
  }
}

test('audit verify: a chain verifies from its checkpoint; a missing start or a checkpoint in the middle is named', async () => {
  const records = chain(2000)
  assert.deepEqual(await verifyLiveChain(reader(records)), { ok: true, records: 2000, headHash: records[1999]!.hash, checkpoint: null })
  const archived = [checkpointFor(records[599]!), ...records.slice(600)]
  const fromCheckpoint = await verifyLiveChain(reader(archived))
  assert.equal(fromCheckpoint.ok, true)
  assert.equal(fromCheckpoint.records, 1400)
  assert.equal(fromCheckpoint.checkpoint?.seq, 600)
  const cut = await verifyLiveChain(reader(records.slice(600)))
  assert.deepEqual(cut.ok ? undefined : cut.broken, { seq: 601, id: 'id-601', reason: 'sequence_gap' }, 'records removed without a checkpoint')
  const planted = [...records.slice(0, 1000), checkpointFor(records[1499]!), ...records.slice(1500)]
  const hidden = await verifyLiveChain(reader(planted))
  assert.deepEqual(hidden.ok ? undefined : hidden.broken, { seq: 1500, id: 'checkpoint-1500', reason: 'unexpected_checkpoint' }, 'a checkpoint does not hide records removed from the middle')
  const edited = archived.map((r) => r.seq === 1700 ? { ...r, details: { n: 0 } } : r)
  const broken = await verifyLiveChain(reader(edited))
  assert.deepEqual(broken.ok ? undefined : [broken.broken.seq, broken.broken.reason, broken.records], [1700, 'hash_mismatch', 1099])
})

test('audit verify: archiving that moves the checkpoint while a verification reads is followed, not reported as a break', async () => {
  const records = chain(3000)
  const moving = reader(records, records[2999], (afterSeq) => {
    // Once the first page was read, records up to 1800 are archived.
    if (afterSeq > 0 && moving.rows[0]!.seq === 1) moving.rows = [checkpointFor(records[1799]!), ...records.slice(1800)]
  })
  const result = await verifyLiveChain(moving)
  assert.equal(result.ok, true, JSON.stringify(result))
  assert.equal(result.checkpoint?.seq, 1800)
})

test('audit verify: one verification at a time per process; the second is refused with a retry estimate', async () => {
  const gate = createVerifyGate()
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  const records = chain(10)
  const slow: ChainReader = { ...reader(records), async head () { await held; return { seq: 10, hash: records[9]!.hash } } }
  const first = gate.run(slow)
  assert.equal(gate.running, true)
  await assert.rejects(gate.run(reader(records)), (err: unknown) => err instanceof DomainError && err.refusal === 'busy' && err.code === 'AUDIT_VERIFY_RUNNING' &&
    (err.details as { retryAfterSeconds: number }).retryAfterSeconds >= 1)
  release()
  assert.equal((await first).ok, true)
  assert.equal((await gate.run(reader(records))).ok, true, 'the next one runs once the first is done')
})
