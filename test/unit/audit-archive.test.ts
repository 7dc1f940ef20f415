import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import { GENESIS_HASH, hashRecord, type StoredAuditRecord } from '../../src/audit/chain.ts'
import { ArchiveBroken, continueChain, GENESIS, readArchive, writeArchive } from '../../src/audit/archive.ts'

function chain (n: number): StoredAuditRecord[] {
  const records: StoredAuditRecord[] = []
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= n; seq++) {
    const content = { seq, id: `id-${seq}`, at: 1_700_000_000_000 + seq, event: 'job.succeeded', jobId: `job-${seq}`, kind: 'data-action', actor: 'reporting', details: { n: seq } }
    const hash = hashRecord(prev, content)
    records.push({ ...content, prevHash: prev, hash })
    prev = hash
  }
  return records
}

async function verifyFiles (files: string[]) {
  let at = GENESIS
  for (const file of files) at = await continueChain(at, file, readArchive(file))
  return at
}

test('audit archive: archived files verify end to end, an edited line and a missing file are named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'audit-archive-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const records = chain(250)
  const files = []
  for (let from = 0; from < 250; from += 100) files.push(await writeArchive(dir, records.slice(from, from + 100)))
  assert.deepEqual(files.map((f) => [f.first, f.last, f.records]), [[1, 100, 100], [101, 200, 100], [201, 250, 50]])
  assert.ok(files.every((f) => existsSync(f.file) && /^[0-9a-f]{64}$/.test(f.sha256)))
  const end = await verifyFiles(files.map((f) => f.file))
  assert.deepEqual(end, { seq: 250, hash: records[249]!.hash })

  // One line edited: the record's details no longer match its hash.
  const second = files[1]!.file
  const lines = gunzipSync(readFileSync(second)).toString('utf8').split('\n')
  const edited = JSON.parse(lines[41]!) as StoredAuditRecord
  edited.details = { n: 999 }
  lines[41] = JSON.stringify(edited)
  writeFileSync(second, gzipSync(lines.join('\n')))
  await assert.rejects(verifyFiles(files.map((f) => f.file)), (err: unknown) => {
    assert.ok(err instanceof ArchiveBroken)
    assert.equal(err.reason, 'hash_mismatch')
    assert.equal(err.where, second)
    assert.equal(err.line, 42)
    assert.equal(err.seq, 142)
    assert.match(err.message, /line 42 \(record 142\) was changed/)
    return true
  })

  // A file left out: the records it held are named as missing.
  await assert.rejects(verifyFiles([files[0]!.file, files[2]!.file]), (err: unknown) => {
    assert.ok(err instanceof ArchiveBroken)
    assert.equal(err.reason, 'missing_records')
    assert.match(err.message, /records 101–200 are missing/)
    return true
  })
})
