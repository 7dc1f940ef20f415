import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { DatabaseSync } from 'node:sqlite'
import pg from 'pg'

export interface TestDatabase {
  /** Environment that points the service at this database. */
  env: Record<string, string>
  dialect: 'sqlite' | 'postgres'
  drop (): Promise<void>
}

/**
 * A fresh, empty database per test file: a SQLite file in a temp folder, or, when
 * TEST_DATABASE_URL is set (as CI does), a new PostgreSQL database on that server, unless the test
 * asks for SQLite (a test of SQLite's own behaviour).
 */
export async function createTestDatabase (options: { dialect?: 'sqlite' } = {}): Promise<TestDatabase> {
  const admin = process.env.TEST_DATABASE_URL
  if (admin === undefined || admin === '' || options.dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'orchestrator-test-'))
    return {
      env: { SQLITE_PATH: join(dir, 'test.db') },
      dialect: 'sqlite',
      async drop () { rmSync(dir, { recursive: true, force: true }) }
    }
  }
  const name = `orchestrator_test_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ connectionString: admin })
  await client.connect()
  await client.query(`CREATE DATABASE ${name}`)
  await client.end()
  const url = new URL(admin)
  url.pathname = `/${name}`
  return {
    env: { DATABASE_URL: url.toString() },
    dialect: 'postgres',
    async drop () {
      const c = new pg.Client({ connectionString: admin })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    }
  }
}

export interface DirectConnection {
  /** Runs one statement with `?` placeholders; the rows it returns (none for a write). */
  query<T = Record<string, unknown>> (text: string, params?: unknown[]): Promise<T[]>
  close (): Promise<void>
}

/**
 * A connection of the test's own to the database, for tests that edit stored data behind the
 * service's back (as an intruder with database access would); the service never offers SQL.
 */
export async function connectDirectly (db: TestDatabase): Promise<DirectConnection> {
  if (db.dialect === 'sqlite') {
    // No busy wait inside SQLite: it would block this process's event loop, and a service running
    // in this process could then never commit the group that holds the write lock. A busy
    // statement is tried again after a turn of the loop instead.
    const raw = new DatabaseSync(db.env.SQLITE_PATH!, { timeout: 0 })
    const run = <T>(text: string, params: unknown[]): T[] => {
      const statement = raw.prepare(text)
      if (statement.columns().length > 0) return statement.all(...(params as never[])) as T[]
      statement.run(...(params as never[]))
      return []
    }
    return {
      async query<T> (text: string, params: unknown[] = []) {
        const until = Date.now() + 60_000
        for (;;) {
          try {
            return run<T>(text, params)
          } catch (err) {
            const busy = (err as { errcode?: number }).errcode === 5 || (err as { errcode?: number }).errcode === 6
            if (!busy || Date.now() > until) throw err
            await new Promise((resolve) => setTimeout(resolve, 10))
          }
        }
      },
      async close () { raw.close() }
    }
  }
  const client = new pg.Client({ connectionString: db.env.DATABASE_URL })
  await client.connect()
  return {
    async query<T> (text: string, params: unknown[] = []) {
      let n = 0
      return (await client.query(text.replace(/\?/g, () => `$${++n}`), params)).rows as T[]
    },
    async close () { await client.end() }
  }
}
