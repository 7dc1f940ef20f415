import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { processCpuSeconds } from './cpu.ts'

/** The PostgreSQL server the bench may create databases on, or undefined (scenarios that need it skip). */
export function benchDatabaseBase (): string | undefined {
  const base = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL
  return base === undefined || base === '' ? undefined : base
}

export const NO_POSTGRES_NOTE = 'skipped: no PostgreSQL (set BENCH_DATABASE_URL)'

function databaseUrl (base: string, name: string): string {
  const url = new URL(base)
  url.pathname = `/${name}`
  return url.toString()
}

export async function admin<T> (base: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: base })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

export interface FreshDatabase {
  name: string
  url: string
  /** Transactions committed in this database so far (pg_stat_database.xact_commit; published with a short delay). */
  commits (): Promise<number>
  /**
   * CPU seconds used so far by each PostgreSQL backend connected to this database, by pid: the
   * server's work for this database alone (other databases on the server, other users' tests
   * included, are left out; so are the server's shared processes such as the WAL writer).
   */
  backendCpu (): Promise<Map<number, number>>
  /** Drops the database, closing whatever is still connected to it. */
  drop (): Promise<void>
}

/** A new, empty database on the bench's server; `drop()` removes it (call it in a finally). */
export async function freshDatabase (base: string): Promise<FreshDatabase> {
  const name = `bench_${randomBytes(6).toString('hex')}`
  await admin(base, (c) => c.query(`CREATE DATABASE ${name}`))
  return {
    name,
    url: databaseUrl(base, name),
    commits: async () => await admin(base, async (c) => Number((await c.query('select xact_commit from pg_stat_database where datname = $1', [name])).rows[0].xact_commit)),
    backendCpu: async () => await admin(base, async (c) => {
      const rows = (await c.query('select pid from pg_stat_activity where datname = $1', [name])).rows as Array<{ pid: number }>
      return new Map(rows.map((r) => [r.pid, processCpuSeconds(r.pid)]))
    }),
    drop: async () => { await admin(base, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)) }
  }
}

/**
 * CPU seconds the database's backends used between two `backendCpu()` readings: a backend that
 * connected in between counts whole; one that disconnected in between is lost (pools keep theirs).
 */
export function backendCpuBetween (before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0
  for (const [pid, cpu] of after) sum += cpu - (before.get(pid) ?? 0)
  return sum
}

/**
 * pg_stat_database.xact_commit once it has stopped moving: backends publish their counts with a
 * delay (up to about a second after they go idle on PostgreSQL 15), so read until two readings agree.
 */
export async function settledCommits (db: FreshDatabase): Promise<number> {
  let last = await db.commits()
  for (let i = 0; i < 12; i++) {
    await sleep(1100)
    const next = await db.commits()
    if (next === last) return next
    last = next
  }
  return last
}
