import { randomUUID } from 'node:crypto'
import type { Selectable } from 'kysely'
import type { AuditRecordsTable, Connection } from './schema.ts'
import { hashRecord, type StoredAuditRecord } from '../audit/chain.ts'
import { maskDeep } from '../privacy/masking.ts'
import { precompiled, precompiledInsert } from './precompiled.ts'

// An append's three statements, compiled once (precompiled.ts).
const moveHead = precompiled<[]>(0, (db) => db.updateTable('auditHead').set((eb) => ({ seq: eb('seq', '+', 1) })).where('id', '=', 1).returning(['seq', 'hash']))
const insertRecord = precompiledInsert('auditRecords')
const setHeadHash = precompiled<[string]>(1, (db, hash) => db.updateTable('auditHead').set({ hash: hash! }).where('id', '=', 1))

export type AuditRow = Selectable<AuditRecordsTable>

export interface AuditEntry {
  event: string
  jobId?: string | null
  kind?: string | null
  actor?: string | null
  details: Record<string, unknown>
}

export interface AuditFilter {
  jobId?: string
  kind?: string
  event?: string
  from?: number
  to?: number
}

/** An archive file of audit records, as the manifest keeps it. */
export interface ArchiveManifestEntry { file: string, firstSeq: number, lastSeq: number, records: number, sha256: string, archivedAt: number }

/** Rows per multi-row INSERT of `appendMany` (10 columns each: within both databases' parameter limits). */
const INSERT_ROWS = 500

export const toStored = (row: AuditRow): StoredAuditRecord => ({ ...row, details: JSON.parse(row.details) })

export function createAuditRepository (db: Connection) {
  function filtered (filter: AuditFilter) {
    let query = db.selectFrom('auditRecords').selectAll()
    if (filter.jobId !== undefined) query = query.where('jobId', '=', filter.jobId)
    if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind)
    if (filter.event !== undefined) query = query.where('event', '=', filter.event)
    if (filter.from !== undefined) query = query.where('at', '>=', filter.from)
    if (filter.to !== undefined) query = query.where('at', '<', filter.to)
    return query
  }

  return {
    /**
     * Appends a record; call it inside a transaction (`store.transaction`). Locking the head row
     * first serialises appends across processes, so every record points at exactly the record before it.
     */
    async append (entry: AuditEntry, at: number): Promise<StoredAuditRecord> {
      const head = (await moveHead.run<{ seq: number, hash: string }>(db)).rows[0]
      if (head === undefined) throw new Error('the audit head row is missing')
      const content = {
        seq: head.seq,
        id: randomUUID(),
        at,
        event: entry.event,
        jobId: entry.jobId ?? null,
        kind: entry.kind ?? null,
        actor: entry.actor ?? null,
        details: maskDeep(entry.details)
      }
      const hash = hashRecord(head.hash, content)
      await insertRecord(db, { ...content, details: JSON.stringify(content.details), prevHash: head.hash, hash })
      await setHeadHash.run(db, hash)
      return { ...content, prevHash: head.hash, hash }
    },

    /**
     * Appends many records in one go (an import, or a test that needs a long chain): the head row is
     * locked once, hashes are computed here, rows go in multi-row INSERTs. Call it inside a transaction.
     */
    async appendMany (entries: readonly AuditEntry[], at: number): Promise<void> {
      if (entries.length === 0) return
      const head = await db.updateTable('auditHead').set((eb) => ({ seq: eb('seq', '+', entries.length) }))
        .where('id', '=', 1).returning(['seq', 'hash']).executeTakeFirstOrThrow()
      let seq = head.seq - entries.length
      let prev = head.hash
      const rows = entries.map((entry) => {
        seq += 1
        const content = { seq, id: randomUUID(), at, event: entry.event, jobId: entry.jobId ?? null, kind: entry.kind ?? null, actor: entry.actor ?? null, details: maskDeep(entry.details) }
        const hash = hashRecord(prev, content)
        const row = { ...content, details: JSON.stringify(content.details), prevHash: prev, hash }
        prev = hash
        return row
      })
      for (let i = 0; i < rows.length; i += INSERT_ROWS) await db.insertInto('auditRecords').values(rows.slice(i, i + INSERT_ROWS)).execute()
      await db.updateTable('auditHead').set({ hash: prev }).where('id', '=', 1).execute()
    },

    /** Newest first; `beforeSeq` is the cursor. */
    async query (filter: AuditFilter, limit: number, beforeSeq?: number): Promise<AuditRow[]> {
      let query = filtered(filter)
      if (beforeSeq !== undefined) query = query.where('seq', '<', beforeSeq)
      return await query.orderBy('seq', 'desc').limit(limit).execute()
    },

    /** One page of the filtered records, oldest first, after `afterSeq`: an export reads page by page in constant memory. */
    async exportPage (filter: AuditFilter, afterSeq: number, limit: number): Promise<AuditRow[]> {
      return await filtered(filter).where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute()
    },

    /** Records (a checkpoint included) after `afterSeq`, oldest first: how the chain is verified and archived. */
    async page (afterSeq: number, limit: number): Promise<StoredAuditRecord[]> {
      const rows = await db.selectFrom('auditRecords').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute()
      return rows.map(toStored)
    },

    /** Where the chain ends, as the appends left it. */
    async head (): Promise<{ seq: number, hash: string }> {
      return await db.selectFrom('auditHead').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow()
    },

    /** The lowest seq kept in the database: the checkpoint, or record 1 while nothing was archived. */
    async lowestSeq (): Promise<number | undefined> {
      const row = await db.selectFrom('auditRecords').select((eb) => eb.fn.min<number | null>('seq').as('seq')).executeTakeFirst()
      return row?.seq ?? undefined
    },

    /**
     * Replaces the records `fromSeq`…`throughSeq` (the oldest ones kept, the previous checkpoint
     * included) by one checkpoint record at `throughSeq`. They must all be there: a count that
     * differs means the chain changed meanwhile (another archiver, an edit), and nothing is changed.
     * Call it inside a transaction, once the records are safely in an archive file.
     */
    async replaceWithCheckpoint (fromSeq: number, checkpoint: StoredAuditRecord): Promise<void> {
      const deleted = await db.deleteFrom('auditRecords').where('seq', '>=', fromSeq).where('seq', '<=', checkpoint.seq).executeTakeFirst()
      const expected = checkpoint.seq - fromSeq + 1
      if (Number(deleted.numDeletedRows) !== expected) {
        throw new Error(`audit records ${fromSeq}–${checkpoint.seq} changed while they were archived (${Number(deleted.numDeletedRows)} of ${expected} found); nothing was removed`)
      }
      await db.insertInto('auditRecords').values({ ...checkpoint, details: JSON.stringify(checkpoint.details) }).execute()
    },

    /** Notes an archive file in the manifest (an offline verification names a missing one from it). */
    async recordArchive (entry: ArchiveManifestEntry): Promise<void> {
      await db.insertInto('auditArchives').values(entry)
        .onConflict((oc) => oc.column('file').doUpdateSet({ sha256: entry.sha256, archivedAt: entry.archivedAt, records: entry.records, lastSeq: entry.lastSeq })).execute()
    },

    /** Every archive file written, oldest records first. */
    async archives (): Promise<ArchiveManifestEntry[]> {
      return await db.selectFrom('auditArchives').selectAll().orderBy('firstSeq').execute()
    }
  }
}

export type AuditRepository = ReturnType<typeof createAuditRepository>
