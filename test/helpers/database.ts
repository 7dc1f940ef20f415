import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'

export interface TestDatabase {
  /** Environment that points the service at this database. */
  env: Record<string, string>
  dialect: 'sqlite' | 'postgres'
  drop (): Promise<void>
}

/**
 * A fresh, empty database per test file: a SQLite file in a temp folder, or, when
 * TEST_DATABASE_URL is set (as CI does), a new PostgreSQL database on that server.
 */
export async function createTestDatabase (): Promise<TestDatabase> {
  const admin = process.env.TEST_DATABASE_URL
  if (admin === undefined || admin === '') {
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
