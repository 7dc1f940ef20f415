import { randomUUID } from 'node:crypto'
import type { Selectable } from 'kysely'
import type { AuditRecordsTable, Connection } from './schema.ts'
import { GENESIS_HASH, hashRecord, verifyRecords, type ChainBreak, type StoredAuditRecord } from '../audit/chain.ts'
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

export type VerifyResult =
  | { ok: true, records: number, headHash: string }
  | { ok: false, records: number, broken: ChainBreak | { seq: number, id: string | null, reason: 'head_mismatch' } }

const PAGE = 2000

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

    /** Newest first; `beforeSeq` is the cursor. */
    async query (filter: AuditFilter, limit: number, beforeSeq?: number): Promise<AuditRow[]> {
      let query = filtered(filter)
      if (beforeSeq !== undefined) query = query.where('seq', '<', beforeSeq)
      return await query.orderBy('seq', 'desc').limit(limit).execute()
    },

    /** Oldest first, page by page, so an export of millions of records stays in constant memory. */
    async * iterate (filter: AuditFilter): AsyncGenerator<AuditRow> {
      let after = 0
      for (;;) {
        const rows = await filtered(filter).where('seq', '>', after).orderBy('seq').limit(PAGE).execute()
        yield * rows
        if (rows.length < PAGE) return
        after = rows[rows.length - 1]!.seq
      }
    },

    async verify (): Promise<VerifyResult> {
      let prev = GENESIS_HASH
      let seq = 0
      for (;;) {
        const rows = await db.selectFrom('auditRecords').selectAll().where('seq', '>', seq).orderBy('seq').limit(PAGE).execute()
        const outcome = verifyRecords(rows.map(toStored), prev, seq)
        if (!outcome.ok) return { ok: false, records: outcome.broken.seq - 1, broken: outcome.broken }
        prev = outcome.lastHash
        seq = outcome.lastSeq
        if (rows.length < PAGE) break
      }
      // A deleted tail leaves a consistent chain behind; the head row remembers where it really ends.
      const head = await db.selectFrom('auditHead').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow()
      if (head.seq !== seq || head.hash !== prev) {
        return { ok: false, records: seq, broken: { seq: seq + 1, id: null, reason: 'head_mismatch' } }
      }
      return { ok: true, records: seq, headHash: prev }
    }
  }
}

export type AuditRepository = ReturnType<typeof createAuditRepository>
