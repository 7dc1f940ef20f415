import type { Connection } from './schema.ts'

/** What a team's Idempotency-Key stands for: the request it came with and the answer it got. */
export interface IdempotencyRecord {
  team: string
  key: string
  /** sha256 of the request, so a reuse with a different body is told apart from a retry. */
  fingerprint: string
  jobId: string
  /** The accepted job's resource, as first answered (JSON). */
  answer: string
  createdAt: number
  expiresAt: number
}

/**
 * Every stored answer is an acceptance: the `status_code` column (from the first schema) is
 * always written as 202 and not read back.
 */
const ACCEPTED = 202

export function createIdempotencyRepository (db: Connection) {
  return {
    async find (team: string, key: string): Promise<IdempotencyRecord | undefined> {
      const row = await db.selectFrom('idempotencyKeys').selectAll()
        .where('team', '=', team).where('key', '=', key).executeTakeFirst()
      return row === undefined
        ? undefined
        : { team: row.team, key: row.key, fingerprint: row.fingerprint, jobId: row.jobId, answer: row.response, createdAt: row.createdAt, expiresAt: row.expiresAt }
    },

    /** Takes the key for this request; false when another request holds it already. */
    async claim (record: IdempotencyRecord): Promise<boolean> {
      const { answer, ...rest } = record
      const inserted = await db.insertInto('idempotencyKeys').values({ ...rest, response: answer, statusCode: ACCEPTED })
        .onConflict((oc) => oc.columns(['team', 'key']).doNothing()).returning('key').executeTakeFirst()
      return inserted !== undefined
    },

    async remove (team: string, key: string): Promise<void> {
      await db.deleteFrom('idempotencyKeys').where('team', '=', team).where('key', '=', key).execute()
    }
  }
}

export type IdempotencyRepository = ReturnType<typeof createIdempotencyRepository>
