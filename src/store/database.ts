import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { CamelCasePlugin, Kysely, PostgresDialect, sql, type Dialect } from 'kysely'
import pg from 'pg'
import type { Database } from './schema.ts'
import { openSqlite } from './sqlite-dialect.ts'
import { migrateToLatest } from './migrations.ts'

export type DialectName = 'sqlite' | 'postgres'

export interface Store {
  db: Kysely<Database>
  dialect: DialectName
  /** Where the data lives, without credentials, for logs. */
  location: string
  ping (): Promise<void>
  close (): Promise<void>
}

// BIGINT (epoch ms, sequence numbers) fits a JS number for the next 285 000 years.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

export interface StoreOptions {
  databaseUrl?: string
  sqlitePath: string
  /** Told about connection errors of idle pooled clients (e.g. a PostgreSQL restart). */
  onConnectionError?: (err: Error) => void
}

export async function openStore (options: StoreOptions): Promise<Store> {
  let dialect: Dialect
  let name: DialectName
  let location: string
  if (options.databaseUrl !== undefined) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10 })
    // An idle client losing its connection is not fatal: the pool replaces it on the next query.
    pool.on('error', (err) => options.onConnectionError?.(err))
    dialect = new PostgresDialect({ pool })
    name = 'postgres'
    const url = new URL(options.databaseUrl)
    location = `postgres://${url.host}${url.pathname}`
  } else {
    if (options.sqlitePath !== ':memory:') mkdirSync(dirname(options.sqlitePath), { recursive: true })
    dialect = openSqlite(options.sqlitePath)
    name = 'sqlite'
    location = options.sqlitePath
  }
  const db = new Kysely<Database>({ dialect, plugins: [new CamelCasePlugin()] })
  try {
    await migrateToLatest(db, name)
  } catch (err) {
    await db.destroy()
    throw err
  }
  return {
    db,
    dialect: name,
    location,
    async ping () { await sql`select 1`.execute(db) },
    async close () { await db.destroy() }
  }
}
