import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, rename } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { createGunzip, createGzip } from 'node:zlib'
import { GENESIS_HASH, hashRecord, type StoredAuditRecord } from './chain.ts'
import { createSlices } from './slices.ts'

/**
 * Archived audit records: gzip JSON Lines, one stored record per line, oldest first, in files
 * named by the sequence numbers they hold, so a reader sees at a glance which file holds what
 * and which is missing.
 */
export const archiveFileName = (first: number, last: number) => `audit-${String(first).padStart(12, '0')}-${String(last).padStart(12, '0')}.jsonl.gz`

export interface ArchiveFile { file: string, first: number, last: number, records: number, sha256: string }

/**
 * Writes records to a new archive file and makes it durable (the file and its folder are synced)
 * before it answers, because the caller deletes the records from the database next.
 */
export async function writeArchive (dir: string, records: readonly StoredAuditRecord[]): Promise<ArchiveFile> {
  if (records.length === 0) throw new Error('nothing to archive')
  await mkdir(dir, { recursive: true })
  const first = records[0]!.seq
  const last = records[records.length - 1]!.seq
  const file = join(dir, archiveFileName(first, last))
  const partial = `${file}.partial`
  const lines = Readable.from(records.map((r) => `${JSON.stringify(r)}\n`))
  // A partial file left by a crash is written over: only the rename makes a file count.
  await pipeline(lines, createGzip(), createWriteStream(partial, { flags: 'w' }))
  const handle = await open(partial, 'r+')
  try { await handle.sync() } finally { await handle.close() }
  await rename(partial, file)
  const folder = await open(dir, 'r')
  try { await folder.sync() } finally { await folder.close() }
  const sha256 = createHash('sha256')
  await pipeline(createReadStream(file), sha256)
  return { file, first, last, records: records.length, sha256: sha256.digest('hex') }
}

/** The records of one archive file, with their line numbers. */
export async function * readArchive (file: string): AsyncGenerator<{ record: StoredAuditRecord, line: number }> {
  const lines = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity })
  let line = 0
  for await (const text of lines) {
    line += 1
    if (text.trim() === '') continue
    let record: StoredAuditRecord
    try {
      record = JSON.parse(text) as StoredAuditRecord
    } catch {
      throw new ArchiveBroken(file, line, null, 'unreadable', `line ${line} of ${file} is not a JSON record`)
    }
    yield { record, line }
  }
}

export class ArchiveBroken extends Error {
  readonly where: string
  readonly line: number | null
  readonly seq: number | null
  readonly reason: string
  constructor (where: string, line: number | null, seq: number | null, reason: string, message: string) {
    super(message)
    this.name = 'ArchiveBroken'
    this.where = where
    this.line = line
    this.seq = seq
    this.reason = reason
  }
}

/** Where the chain stands after the records verified so far. */
export interface ChainPosition { seq: number, hash: string }

export const GENESIS: ChainPosition = { seq: 0, hash: GENESIS_HASH }

/**
 * Verifies records that continue the chain from `from`: each has the next sequence number, points
 * at the hash before it, and hashes to what it says. Throws ArchiveBroken naming the first record
 * (and the line, for files) that does not match; answers where the chain stands after them. Runs
 * in slices that yield to the event loop, so the service keeps answering meanwhile.
 */
export async function continueChain (from: ChainPosition, where: string,
  records: AsyncIterable<{ record: StoredAuditRecord, line: number | null }>): Promise<ChainPosition> {
  let at = from
  const slices = createSlices()
  for await (const { record, line } of records) {
    await slices.pause()
    const place = line === null ? `${where}, record ${record.seq}` : `${where}, line ${line} (record ${record.seq})`
    if (record.seq > at.seq + 1) {
      throw new ArchiveBroken(where, line, record.seq, 'missing_records', `records ${at.seq + 1}–${record.seq - 1} are missing before ${place}: an archive file holding them was not given or was deleted`)
    }
    if (record.seq !== at.seq + 1) throw new ArchiveBroken(where, line, record.seq, 'sequence_gap', `${place} repeats or reorders the sequence (expected ${at.seq + 1})`)
    if (record.prevHash !== at.hash) throw new ArchiveBroken(where, line, record.seq, 'prev_hash_mismatch', `${place} does not point at the record before it (prevHash differs)`)
    const { prevHash, hash, ...content } = record
    if (hashRecord(prevHash, content) !== hash) throw new ArchiveBroken(where, line, record.seq, 'hash_mismatch', `${place} was changed after it was written (its hash does not match its content)`)
    at = { seq: record.seq, hash }
  }
  return at
}
