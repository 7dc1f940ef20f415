import { createReadStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { basename, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { ArchiveBroken, continueChain, GENESIS, readArchive, type ChainPosition } from './archive.ts'
import { isCheckpoint, verifyLiveChain, type ChainReader } from './verify.ts'

/** An archive file as the database's manifest remembers it. */
export interface ManifestEntry { file: string, firstSeq: number, lastSeq: number, records: number, sha256: string }

/** The database side of an offline verification: the live chain and the manifest of archive files. */
export interface OfflineSource extends ChainReader {
  archives (): Promise<ManifestEntry[]>
}

export interface OfflineReport {
  ok: boolean
  /** What to print, one line each: the findings, then the verdict. */
  lines: string[]
  archivedRecords: number
  liveRecords: number
}

const NAME = /^audit-(\d{12})-(\d{12})\.jsonl\.gz$/

/** The files to read: each path given, a folder standing for the archive files in it. */
async function expand (paths: readonly string[]): Promise<{ files: string[], absent: string[] }> {
  const files: string[] = []
  const absent: string[] = []
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined)
    if (info === undefined) absent.push(path)
    else if (info.isDirectory()) files.push(...(await readdir(path)).filter((f) => NAME.test(f)).sort().map((f) => join(path, f)))
    else files.push(path)
  }
  return { files, absent }
}

async function firstSeqOf (file: string): Promise<number> {
  const named = NAME.exec(basename(file))
  if (named !== null) return Number(named[1])
  const first = await readArchive(file).next()
  return first.done === true ? Number.MAX_SAFE_INTEGER : first.value.record.seq
}

async function sha256Of (file: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(file), hash)
  return hash.digest('hex')
}

/** The manifest's files that hold any of the records `first`…`last`. */
function holding (manifest: readonly ManifestEntry[], first: number, last: number): string {
  const files = manifest.filter((m) => m.firstSeq <= last && m.lastSeq >= first)
  return files.length === 0
    ? 'no archive file the database knows of holds them'
    : `they are in ${files.map((m) => `${m.file} (records ${m.firstSeq}–${m.lastSeq})`).join(', ')}, which was not given or is missing`
}

/**
 * Verifies the whole audit chain, offline: the archive files in sequence order from the first
 * record, then the checkpoint in the database (its hash must be the archived record's at its seq),
 * then the records kept in the database up to the head. Names the first record that does not
 * match: an edited line (file and line), records missing between files (and the file that held
 * them, from the manifest), a file named that does not exist.
 */
export async function verifyOffline (paths: readonly string[], source: OfflineSource): Promise<OfflineReport> {
  const lines: string[] = []
  const report = (ok: boolean, verdict: string, archivedRecords = 0, liveRecords = 0): OfflineReport =>
    ({ ok, lines: [...lines, verdict], archivedRecords, liveRecords })
  const manifest = await source.archives()
  const { files, absent } = await expand(paths)
  if (absent.length > 0) return report(false, `BROKEN: archive file ${absent.join(', ')} does not exist`)

  const [lowest] = await source.page(0, 1)
  const checkpoint = lowest !== undefined && isCheckpoint(lowest) ? lowest : undefined
  const ordered = (await Promise.all(files.map(async (file) => ({ file, first: await firstSeqOf(file) })))).sort((a, b) => a.first - b.first)

  let at: ChainPosition = GENESIS
  let archivedRecords = 0
  let hashAtCheckpoint: string | undefined
  for (const { file } of ordered) {
    try {
      at = await continueChain(at, file, (async function * () {
        for await (const entry of readArchive(file)) {
          if (entry.record.seq === checkpoint?.seq) hashAtCheckpoint = entry.record.hash
          archivedRecords += 1
          yield entry
        }
      })())
    } catch (err) {
      if (!(err instanceof ArchiveBroken)) throw err
      const missing = err.reason === 'missing_records' && err.seq !== null ? ` (${holding(manifest, at.seq + 1, err.seq - 1)})` : ''
      return report(false, `BROKEN: ${err.message}${missing}`)
    }
    const known = manifest.find((m) => m.file === basename(file))
    if (known !== undefined && known.sha256 !== await sha256Of(file)) {
      lines.push(`note: ${file} differs byte for byte from the file written (sha256 ${known.sha256}); its records verify`)
    }
    lines.push(`ok: ${file}: records up to ${at.seq}`)
  }

  if (checkpoint === undefined) {
    if (at.seq > 0) return report(false, `BROKEN: the database keeps the chain from record 1 (nothing was archived from it), yet the archive files given hold records 1–${at.seq}: they belong to another chain`)
  } else {
    if (at.seq < checkpoint.seq) {
      return report(false, `BROKEN: records ${at.seq + 1}–${checkpoint.seq} are missing: the database's checkpoint says they were archived, and ${holding(manifest, at.seq + 1, checkpoint.seq)}`)
    }
    if (hashAtCheckpoint !== checkpoint.hash) {
      return report(false, `BROKEN: the checkpoint in the database (record ${checkpoint.seq}) carries hash ${checkpoint.hash}, but archived record ${checkpoint.seq} hashes to ${hashAtCheckpoint ?? 'nothing'}: the checkpoint or the archive was changed`)
    }
    lines.push(`ok: the checkpoint at record ${checkpoint.seq} carries the archived record's hash`)
  }

  const live = await verifyLiveChain(source)
  if (!live.ok) {
    return report(false, `BROKEN: the database's record ${live.broken.seq}${live.broken.id === null ? '' : ` (id ${live.broken.id})`} does not match: ${live.broken.reason} (${live.records} records after the checkpoint verified before it)`, archivedRecords, live.records)
  }
  return report(true, `OK: ${archivedRecords + live.records} records verified end to end: ${archivedRecords} archived in ${ordered.length} file(s), ${live.records} in the database after ${checkpoint === undefined ? 'the start' : `the checkpoint at record ${checkpoint.seq}`}; head ${live.headHash}`, archivedRecords, live.records)
}
