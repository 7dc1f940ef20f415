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

export interface WaitSample {
  /** Samples taken. */
  samples: number
  /** Backends of the database executing a statement, on average over the samples. */
  activeBackends: number
  /** What the active backends were doing, as shares of all active-backend samples: `CPU` or `<wait_event_type>:<wait_event>`. */
  shares: Record<string, number>
}

/**
 * Samples what the backends of database `name` wait on (pg_stat_activity) every `everyMs` until
 * `stop()`: a lock every backend queues for shows up here, where CPU figures cannot tell it.
 */
export async function sampleWaits (base: string, name: string, everyMs = 50): Promise<{ stop (): Promise<WaitSample> }> {
  const client = new pg.Client({ connectionString: base })
  await client.connect()
  const counts: Record<string, number> = {}
  let samples = 0
  let active = 0
  const state = { running: true }
  const loop = (async () => {
    while (state.running) {
      const rows = (await client.query(
        "select coalesce(wait_event_type || ':' || wait_event, 'CPU') as w, count(*)::int as n from pg_stat_activity where datname = $1 and state = 'active' group by 1",
        [name]
      )).rows as Array<{ w: string, n: number }>
      samples += 1
      for (const r of rows) {
        counts[r.w] = (counts[r.w] ?? 0) + r.n
        active += r.n
      }
      await sleep(everyMs)
    }
  })()
  return {
    async stop () {
      state.running = false
      await loop
      await client.end()
      const shares: Record<string, number> = {}
      for (const [w, n] of Object.entries(counts).sort((a, b) => b[1] - a[1])) shares[w] = Math.round(n / Math.max(1, active) * 1000) / 1000
      return { samples, activeBackends: Math.round(active / Math.max(1, samples) * 100) / 100, shares }
    }
  }
}
