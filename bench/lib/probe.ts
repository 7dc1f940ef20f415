import { DatabaseSync } from 'node:sqlite'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { makeTempDir, removeTempDir } from './process.ts'
import { round } from './stats.ts'

/**
 * What one durable SQLite commit costs on the disk the temp databases live on: WAL with
 * synchronous=FULL, as the service opens it (src/store/sqlite-dialect.ts), versus NORMAL.
 * Explains submission and webhook throughput, which commit once per request.
 */
export function probeCommitMs (commits = 300): { full: number, normal: number } {
  const dir = makeTempDir('fsync')
  try {
    const result: Record<string, number> = {}
    for (const mode of ['FULL', 'NORMAL']) {
      const db = new DatabaseSync(join(dir, `${mode}.db`))
      db.exec('PRAGMA journal_mode = WAL')
      db.exec(`PRAGMA synchronous = ${mode}`)
      db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
      const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
      const t0 = performance.now()
      for (let i = 0; i < commits; i++) {
        db.exec('BEGIN IMMEDIATE')
        insert.run('x'.repeat(400))
        db.exec('COMMIT')
      }
      result[mode] = round((performance.now() - t0) / commits, 3)
      db.close()
    }
    return { full: result.FULL!, normal: result.NORMAL! }
  } finally {
    removeTempDir(dir)
  }
}

/** 1-minute load average and core count: other work on the machine skews every figure. */
export function machineLoad (): { loadAvg1m: number, cores: number } {
  return { loadAvg1m: round(loadavg()[0]!, 2), cores: navigator.hardwareConcurrency }
}

export interface CommitCounters {
  commits: number
  transactions: number
}

/** The service's SQLite group-commit counters, read from its /metrics (src/plugins/metrics.ts). */
export async function commitCounters (url: string, headers: Record<string, string>): Promise<CommitCounters> {
  const res = await fetch(`${url}/metrics`, { headers })
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`)
  const text = await res.text()
  const read = (name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `))
    if (line === undefined) throw new Error(`/metrics has no ${name}`)
    return Number(line.slice(name.length + 1))
  }
  return {
    commits: read('orchestrator_sqlite_commits_total'),
    transactions: read('orchestrator_sqlite_transactions_total')
  }
}

/** What happened between two readings: fsync'd commits and how many transactions each carried. */
export function commitsBetween (before: CommitCounters, after: CommitCounters): CommitCounters & { transactionsPerCommit: number } {
  const commits = after.commits - before.commits
  const transactions = after.transactions - before.transactions
  return { commits, transactions, transactionsPerCommit: round(transactions / Math.max(1, commits), 2) }
}
