import pg from 'pg'
import { sql } from 'kysely'
import type { Connection } from './schema.ts'

export const CHANNEL = 'orchestrator_jobs'

/**
 * "New work may be due" between processes. On PostgreSQL a NOTIFY on one channel, heard by a
 * dedicated LISTEN connection per listening process. On SQLite nothing: the processes sharing a
 * file find new work at their next poll.
 */
export interface Wakeups {
  /** Tells the other processes that listen. */
  notify (): Promise<void>
  /**
   * Calls `heard` whenever another process notifies; resolves once listening. `failed` is told when
   * the listening connection breaks (the caller then relies on polling). Resolves to a stop function.
   */
  listen (heard: () => void, failed: (err: Error) => void): Promise<() => Promise<void>>
}

export function createWakeups (db: Connection, databaseUrl: string | undefined): Wakeups {
  if (databaseUrl === undefined) {
    return {
      async notify () {},
      async listen () { return async () => {} }
    }
  }
  return {
    async notify () {
      await sql`select pg_notify(${CHANNEL}, '')`.execute(db)
    },
    async listen (heard, failed) {
      const listener = new pg.Client({ connectionString: databaseUrl })
      listener.on('notification', () => heard())
      listener.on('error', failed)
      await listener.connect()
      await listener.query(`LISTEN ${CHANNEL}`)
      return async () => { await listener.end().catch(() => {}) }
    }
  }
}
