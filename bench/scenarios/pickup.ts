import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { makeTempDir, removeTempDir, spawnNode, type NodeChild } from '../lib/process.ts'
import { api, authHeaders, dataActionBody, ECHO_ACTION, GENESYS_CLIENT, startBenchSandbox, startService } from '../lib/service.ts'
import { commitCounters, commitsBetween, probeCommitMs } from '../lib/probe.ts'
import { admin, benchDatabaseBase, freshDatabase, type FreshDatabase } from '../lib/postgres.ts'
import { percentile, round } from '../lib/stats.ts'
import type { Scenario, ScenarioResult } from '../lib/types.ts'

const WARMUP = 10
const JOBS = 200
/** Without PostgreSQL there is no peer to run: graphile-worker documents "under 5 ms" (about 4 ms on average). */
const DOCUMENTED_MS = 5
const EXECUTE_ROUTE = 'POST /api/v2/integrations/actions/:actionId/execute'
/** pg_stat_database counts reach the view once the backends flush them (at most about 10 s after they go idle). */
const STATS_FLUSH_MS = 10_500

/** Epoch milliseconds with sub-millisecond resolution; the sandbox stamps arrivals with the same clock. */
const now = () => performance.timeOrigin + performance.now()

type TargetName = 'sqlite' | 'postgres' | 'peer'

/** One job's path from the bench's POST to its task, as far as the target tells. */
interface Trip {
  sentAt: number
  /** The 202 arrived back at the bench. */
  answeredAt: number
  /** Ours: the job record's startedAt − createdAt (the claim delay, whole milliseconds). */
  claimMs?: number
  /** When the job started running: ours its record's startedAt (whole ms), the peer its task's first line. */
  startedAt: number
}

interface Target {
  name: TargetName
  /** Submits job `message` and waits until it has finished; resolves to its trip. */
  run (message: string, count: number): Promise<Trip>
}

function ourTarget (name: TargetName, service: NodeChild): Target {
  return {
    name,
    async run (message, count) {
      const sentAt = now()
      const res = await api(service.url, 'POST', '/v1/jobs/data-action', dataActionBody({ message, count }))
      const answeredAt = now()
      if (res.status !== 202) throw new Error(`${name}: submission answered ${res.status}: ${JSON.stringify(res.body)}`)
      const done = await api(service.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=30`)
      if (done.body.status !== 'succeeded') throw new Error(`${name}: job ${res.body.id} ended ${done.body.status}: ${JSON.stringify(done.body.error)}`)
      const startedAt = Date.parse(done.body.startedAt)
      return { sentAt, answeredAt, claimMs: startedAt - Date.parse(done.body.createdAt), startedAt }
    }
  }
}

function peerTarget (peer: NodeChild): Target {
  return {
    name: 'peer',
    async run (message, count) {
      const sentAt = now()
      const res = await api(peer.url, 'POST', '/v1/jobs/data-action', dataActionBody({ message, count }), {})
      const answeredAt = now()
      if (res.status !== 202) throw new Error(`peer: submission answered ${res.status}: ${JSON.stringify(res.body)}`)
      const done = await api(peer.url, 'GET', `/v1/jobs/${res.body.id}/wait`, undefined, {})
      if (done.status !== 200 || done.body.status !== 200) throw new Error(`peer: job ${res.body.id} answered ${done.status}: ${JSON.stringify(done.body)}; the peer said:\n${peer.output.slice(-20).join('\n')}`)
      return { sentAt, answeredAt, startedAt: done.body.startedAt }
    }
  }
}

interface Summary {
  /** Submission sent → the sandbox's arrival of the job's execute (the first Genesys request). */
  p50Ms: number
  p90Ms: number
  p99Ms: number
  maxMs: number
  /** Submission sent → 202 back at the bench. */
  submitAnsweredP50Ms: number
  /** Submission sent → the job started (ours: record startedAt, whole ms; peer: the task's first line). */
  startP50Ms: number
  /** The job started → its execute arrived at the sandbox. */
  startToCallP50Ms: number
  startToCallP99Ms: number
  claimP50Ms?: number
  claimP99Ms?: number
  jobs: number
}

function summarize (trips: Array<Trip & { arrivedAt: number }>): Summary {
  const ms = (values: number[], p: number) => round(percentile(values, p), 2)
  const pickup = trips.map((t) => t.arrivedAt - t.sentAt)
  const startToCall = trips.map((t) => t.arrivedAt - t.startedAt)
  const claims = trips.flatMap((t) => t.claimMs === undefined ? [] : [t.claimMs])
  return {
    p50Ms: ms(pickup, 50),
    p90Ms: ms(pickup, 90),
    p99Ms: ms(pickup, 99),
    maxMs: round(Math.max(...pickup), 2),
    submitAnsweredP50Ms: ms(trips.map((t) => t.answeredAt - t.sentAt), 50),
    startP50Ms: ms(trips.map((t) => t.startedAt - t.sentAt), 50),
    startToCallP50Ms: ms(startToCall, 50),
    startToCallP99Ms: ms(startToCall, 99),
    ...(claims.length === 0 ? {} : { claimP50Ms: ms(claims, 50), claimP99Ms: ms(claims, 99) }),
    jobs: trips.length
  }
}

export const pickup: Scenario = {
  name: 'pickup',
  async run (ctx): Promise<ScenarioResult> {
    const base = benchDatabaseBase()
    const { sandbox, env } = await startBenchSandbox({ rateLimit: { limit: 100_000, windowMs: 60_000 }, now })
    const dir = makeTempDir('pickup')
    const children: NodeChild[] = []
    const databases: FreshDatabase[] = []
    try {
      const serviceEnv = { ...env, GENESYS_RATE_LIMIT_PER_MINUTE: '100000' }
      const sqliteService = await startService('service (pickup, SQLite)', { ...serviceEnv, SQLITE_PATH: join(dir, 'orchestrator.db') })
      children.push(sqliteService)
      const targets: Target[] = [ourTarget('sqlite', sqliteService)]
      let pg: { ours: FreshDatabase, peer: FreshDatabase, settings: Record<string, string> } | undefined
      if (base !== undefined) {
        const ours = await freshDatabase(base)
        databases.push(ours)
        const peerDb = await freshDatabase(base)
        databases.push(peerDb)
        const settings = await admin(base, async (c) => {
          const show = async (name: string) => String((await c.query(`show ${name}`)).rows[0][name])
          return { version: await show('server_version'), fsync: await show('fsync'), synchronousCommit: await show('synchronous_commit') }
        })
        pg = { ours, peer: peerDb, settings }
        const pgService = await startService('service (pickup, PostgreSQL)', { ...serviceEnv, DATABASE_URL: ours.url })
        children.push(pgService)
        const peer = await spawnNode('graphile-worker peer (pickup)', 'bench/peers/graphile-worker.ts', {
          DATABASE_URL: peerDb.url,
          PEER_WORKER: '1',
          GENESYS_API_URL: env.GENESYS_API_URL!,
          GENESYS_LOGIN_URL: env.GENESYS_LOGIN_URL!,
          GENESYS_CLIENT_ID: GENESYS_CLIENT.id,
          GENESYS_CLIENT_SECRET: GENESYS_CLIENT.secret
        })
        children.push(peer)
        targets.push(ourTarget('postgres', pgService), peerTarget(peer))
      }

      const commitsBefore = pg === undefined ? undefined : await pgCommits(pg)
      ctx.log(`pickup: ${WARMUP} warm-up + ${JOBS} sequential data-action jobs on each of ${targets.map((t) => t.name).join(', ')}, interleaved job by job (cacheResults false, distinct inputs)`)
      const trips = new Map<string, { target: TargetName, measured: boolean, trip: Trip }>()
      let sqliteBefore = await commitCounters(sqliteService.url, authHeaders)
      for (let i = 0; i < WARMUP + JOBS; i++) {
        if (i === WARMUP) sqliteBefore = await commitCounters(sqliteService.url, authHeaders)
        // Each round starts with the next target, so none is always first after the bench's pause.
        for (let k = 0; k < targets.length; k++) {
          const target = targets[(i + k) % targets.length]!
          const message = `pickup-${target.name}-${i}`
          trips.set(message, { target: target.name, measured: i >= WARMUP, trip: await target.run(message, i) })
        }
      }
      const sqlite = commitsBetween(sqliteBefore, await commitCounters(sqliteService.url, authHeaders))
      const commitsAfter = pg === undefined ? undefined : await pgCommits(pg)

      // Jobs ran one at a time, so the n-th execute the sandbox logged is the n-th body it kept;
      // the body's distinct message names the job.
      const stats = sandbox.stats()
      const executes = stats.log.filter((e) => e.route === EXECUTE_ROUTE && e.status === 200)
      const bodies = (stats.actionBodies[ECHO_ACTION] ?? []) as Array<{ message: string }>
      if (executes.length !== bodies.length) throw new Error(`sandbox logged ${executes.length} executes but kept ${bodies.length} bodies`)
      const measured: Record<TargetName, Array<Trip & { arrivedAt: number }>> = { sqlite: [], postgres: [], peer: [] }
      bodies.forEach((body, n) => {
        const entry = trips.get(body.message)
        if (entry?.measured === true) measured[entry.target].push({ ...entry.trip, arrivedAt: executes[n]!.at })
      })
      for (const target of targets) {
        if (measured[target.name].length !== JOBS) throw new Error(`correlated ${measured[target.name].length} of ${JOBS} ${target.name} jobs`)
      }

      const commit = probeCommitMs()
      const sq = summarize(measured.sqlite)
      const sqliteFigures = {
        ...sq,
        sqliteCommitMs: commit,
        sqliteCommitsPerJob: { fsynced: round(sqlite.commits / JOBS, 2), transactions: round(sqlite.transactions / JOBS, 2) }
      }
      const ratioVsDocumented = round(DOCUMENTED_MS / Math.max(sq.p50Ms, 0.5), 3)
      const notes = [
        'each figure runs from the bench sending the submission to the sandbox stamping the arrival of that job\'s execute call (one clock, performance.timeOrigin + performance.now(), in the bench process that hosts the sandbox), correlated through the distinct inputs the sandbox keeps. The execute is the first Genesys request of our job once the action\'s definition is cached (after the warm-up) and the only one the peer\'s task makes, so both sides are measured to the same request at the same place; the peer\'s own "task started" stamp (startP50Ms) leaves out the HTTP request ours includes, and is reported beside it',
        `our SQLite service (measured as before the peer existed, now with a sub-millisecond clock): p50 ${sq.p50Ms} ms; submission answered after ${sq.submitAnsweredP50Ms} ms, claim delay (startedAt − createdAt) ${sq.claimP50Ms} ms (p99 ${sq.claimP99Ms}), claim to the execute's arrival ${sq.startToCallP50Ms} ms (p99 ${sq.startToCallP99Ms}); ${sqliteFigures.sqliteCommitsPerJob.fsynced} fsync'd commits for ${sqliteFigures.sqliteCommitsPerJob.transactions} transactions per job`
      ]

      if (pg === undefined) {
        const met = ratioVsDocumented >= 1.0
        notes.push(`no PostgreSQL (set BENCH_DATABASE_URL): the graphile-worker peer needs it, so the reference is its documented latency (${DOCUMENTED_MS} ms) instead of a measurement`)
        if (!met) notes.push('missed: ' + sqliteCause(sqliteFigures, commit.full))
        return {
          ours: `SQLite p50 ${sq.p50Ms} ms, p99 ${sq.p99Ms} ms`,
          reference: `${DOCUMENTED_MS} ms (documented)`,
          ratio: ratioVsDocumented,
          target: `≥ 1.0 × the peer (p50 pickup): here its documented ${DOCUMENTED_MS} ms; measured against the peer when BENCH_DATABASE_URL is set`,
          met,
          figures: { comparison: 'documented', ratioVsDocumented, ...flat(sqliteFigures), sqlite: sqliteFigures, method: 'submit send → sandbox arrival of the job\'s first Genesys request (execute), correlated by distinct inputs' },
          notes
        }
      }

      const pgs = summarize(measured.postgres)
      const peer = summarize(measured.peer)
      const ratio = round(peer.p50Ms / pgs.p50Ms, 3)
      const ratioSqliteVsPeer = round(peer.p50Ms / sq.p50Ms, 3)
      const ratioPeerTaskStart = round(peer.startP50Ms / pgs.p50Ms, 3)
      const transactionsPerJob = {
        postgres: round((commitsAfter!.ours - commitsBefore!.ours) / (WARMUP + JOBS), 2),
        peer: round((commitsAfter!.peer - commitsBefore!.peer) / (WARMUP + JOBS), 2)
      }
      const met = ratio >= 1.0
      if (ratioSqliteVsPeer < 1) notes.push(`our SQLite service is slower than the peer at p50: ${sqliteCause(sqliteFigures, commit.full)}`)
      notes.push(
        `ratio = the peer's p50 ÷ our p50 on PostgreSQL: both on fresh databases of the same server (PostgreSQL ${pg.settings.version}, fsync=${pg.settings.fsync}, synchronous_commit=${pg.settings.synchronousCommit}), both woken by LISTEN/NOTIFY, both running up to 16 jobs at once (our pool holds 10 connections, the peer's 18 as graphile-worker's docs ask), the three targets interleaved job by job. Against our SQLite service (fsync'd commits${pg.settings.fsync === 'off' ? ', which this PostgreSQL skips' : ''}) the peer's p50 is ${ratioSqliteVsPeer} × ours (ratioSqliteVsPeer); measured to the peer's task start instead of its request's arrival, ${ratioPeerTaskStart} (ratioPeerTaskStart)`,
        `p50 breakdown, ours on PostgreSQL: ${pgs.p50Ms} ms = submission answered after ${pgs.submitAnsweredP50Ms} ms, claim delay ${pgs.claimP50Ms} ms (p99 ${pgs.claimP99Ms}), claim to the execute's arrival ${pgs.startToCallP50Ms} ms (p99 ${pgs.startToCallP99Ms}). Peer: ${peer.p50Ms} ms = 202 after ${peer.submitAnsweredP50Ms} ms, task started after ${peer.startP50Ms} ms, task start to the execute's arrival ${peer.startToCallP50Ms} ms. PostgreSQL transactions per job (pg_stat_database.xact_commit: each autocommit read counts, the long-polling wait's and idle polling's included): ours ${transactionsPerJob.postgres}, the peer ${transactionsPerJob.peer}`
      )
      if (!met) {
        notes.push(`missed: our job reaches Genesys ${round(pgs.p50Ms - peer.p50Ms, 2)} ms later at p50, and the gap lies after the claim: from the claim's timestamp to the execute's arrival took ${pgs.startToCallP50Ms} ms at p50 where the peer's task start to its request took ${peer.startToCallP50Ms} ms, while our claim came ${pgs.claimP50Ms} ms after the job's creation (the peer's task started ${peer.startP50Ms} ms after the bench sent its submission, ours ${pgs.startP50Ms} ms). In that stretch our worker makes two statements (src/store/fenced-writes.ts, named prepared statements): the claim with its 'running' entry, then the prepare → execute transition together with the durable side-effect mark, which must commit before the execute leaves (the at-most-once promise); then got sends the request. Each is a wake-up of a PostgreSQL backend and of our event loop on a shared machine; the peer's task makes no statement between its start and its call (graphile-worker's get_job comes before it) and sends with fetch. On SQLite the same path costs two fsync'd commits on the event loop (the claim; the transition with the mark)`)
      }
      return {
        ours: `PostgreSQL p50 ${pgs.p50Ms} ms, p99 ${pgs.p99Ms} ms; SQLite p50 ${sq.p50Ms} ms`,
        reference: `graphile-worker peer p50 ${peer.p50Ms} ms, p99 ${peer.p99Ms} ms`,
        ratio,
        target: '≥ 1.0 × the graphile-worker peer (p50 pickup, ours on the same PostgreSQL)',
        met,
        figures: {
          comparison: 'measured peer on PostgreSQL',
          ratioSqliteVsPeer,
          ratioPeerTaskStart,
          ratioVsDocumented,
          ...flat(sqliteFigures),
          sqlite: sqliteFigures,
          postgres: { ...pgs, transactionsPerJob: transactionsPerJob.postgres },
          peer: { ...peer, transactionsPerJob: transactionsPerJob.peer },
          postgresSettings: pg.settings,
          method: 'submit send → sandbox arrival of the job\'s first Genesys request (execute), correlated by distinct inputs; three targets interleaved job by job'
        },
        notes
      }
    } finally {
      await Promise.all(children.map((c) => c.stop()))
      for (const db of databases) await db.drop()
      await sandbox.close()
      removeTempDir(dir)
    }
  }
}

/** Today's top-level keys (SQLite), kept so earlier results read the same. */
function flat (s: Summary & { sqliteCommitMs: unknown, sqliteCommitsPerJob: unknown }) {
  return {
    p50Ms: s.p50Ms,
    p90Ms: s.p90Ms,
    p99Ms: s.p99Ms,
    maxMs: s.maxMs,
    claimP50Ms: s.claimP50Ms,
    claimP99Ms: s.claimP99Ms,
    submitAnsweredP50Ms: s.submitAnsweredP50Ms,
    claimToFirstCallP50Ms: s.startToCallP50Ms,
    claimToFirstCallP99Ms: s.startToCallP99Ms,
    sqliteCommitMs: s.sqliteCommitMs,
    sqliteCommitsPerJob: s.sqliteCommitsPerJob,
    jobs: s.jobs
  }
}

function sqliteCause (s: { sqliteCommitsPerJob: { fsynced: number, transactions: number } }, commitMs: number): string {
  return `the floor here is one fsync'd commit (${commitMs} ms alone on this disk, often more under load) plus three HTTP exchanges on loopback. Per job the service made ${s.sqliteCommitsPerJob.fsynced} fsync'd commits for ${s.sqliteCommitsPerJob.transactions} transactions. Before the first Genesys request a job waits for three of them: the submission, the worker's claim (which starts once the submission is durable), and the prepare → execute transition written together with the durable side-effect mark before the execute is sent. The remaining time is the long-polling client and the sandbox sharing the bench's event loop, and got's request setup`
}

/** Transactions committed so far in our PostgreSQL database and the peer's, once the backends have published them. */
async function pgCommits (pg: { ours: FreshDatabase, peer: FreshDatabase }): Promise<{ ours: number, peer: number }> {
  await sleep(STATS_FLUSH_MS)
  return { ours: await pg.ours.commits(), peer: await pg.peer.commits() }
}
