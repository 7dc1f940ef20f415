import { load, type LoadSummary } from '../lib/load.ts'
import { cpuAccount, processCpuSeconds } from '../lib/cpu.ts'
import { spawnNode, type NodeChild } from '../lib/process.ts'
import { authHeaders, startService } from '../lib/service.ts'
import { admin, backendCpuBetween, benchDatabaseBase, freshDatabase, NO_POSTGRES_NOTE, sampleWaits, settledCommits, type FreshDatabase, type WaitSample } from '../lib/postgres.ts'
import { round } from '../lib/stats.ts'
import type { Scenario, ScenarioResult } from '../lib/types.ts'
import { SUBMIT_BODY, SUBMIT_LOAD, SUBMIT_PATH } from './submit.ts'

const TARGET = '≥ 1.0 × the graphile-worker peer (req/s, same PostgreSQL)'
/** Ours, peer, peer, ours: a drift in the machine's load over the scenario hits both alike. */
const ORDER = ['ours', 'peer', 'peer', 'ours'] as const

interface Round {
  who: 'ours' | 'peer'
  load: LoadSummary
  /** Requests the warm-up sent (they commit too). */
  warmupRequests: number
  /** CPU-seconds per second of the run: the target process, the PostgreSQL backends of its database, the bench (load generator). */
  cpuShare: { target: number, postgres: number, bench: number }
  /** Whole-machine busy share during the run, 0–1. */
  machineBusy: number
  /** What the side's PostgreSQL backends were doing while they executed statements. */
  waits: WaitSample
}

interface Side {
  rps: number
  rounds: number[]
  p50Ms: number
  p99Ms: number
  ok: number
  non2xx: number
  errors: number
  /** CPU milliseconds per accepted submission. */
  cpuMsPerSubmission: { target: number, postgres: number }
  targetCpuShare: number
  /** PostgreSQL transactions committed in this side's database per submission (warm-ups included). */
  transactionsPerSubmission: number
  /** Its backends' waits over all its rounds: average active backends and the shares of the top waits. */
  waits: { activeBackends: number, shares: Record<string, number> }
}

async function measureRound (who: Round['who'], target: NodeChild, base: string, db: FreshDatabase, headers: Record<string, string>): Promise<Round> {
  const warmup = await load({ url: target.url, method: 'POST', path: SUBMIT_PATH, headers, body: SUBMIT_BODY, connections: SUBMIT_LOAD.connections, durationS: SUBMIT_LOAD.warmupS })
  const backendsBefore = await db.backendCpu()
  const sampler = await sampleWaits(base, db.name)
  const account = cpuAccount(() => ({ target: processCpuSeconds(target.pid) }))
  const summary = await load({ url: target.url, method: 'POST', path: SUBMIT_PATH, headers, body: SUBMIT_BODY, connections: SUBMIT_LOAD.connections, durationS: SUBMIT_LOAD.durationS })
  const cpu = account.end()
  const waits = await sampler.stop()
  const postgres = backendCpuBetween(backendsBefore, await db.backendCpu())
  const share = (seconds: number) => round(seconds / cpu.wallSeconds, 2)
  return {
    who,
    load: summary,
    warmupRequests: warmup.ok + warmup.non2xx,
    cpuShare: { target: share(cpu.cpuSeconds.target ?? 0), postgres: share(postgres), bench: share(cpu.cpuSeconds.bench ?? 0) },
    machineBusy: cpu.machineBusy,
    waits
  }
}

function side (rounds: Round[], transactions: number, submissions: number): Side {
  const ok = rounds.reduce((a, r) => a + r.load.ok, 0)
  const seconds = rounds.reduce((a, r) => a + r.load.durationS, 0)
  const weighted = (pick: (r: Round) => number) => round(rounds.reduce((a, r) => a + pick(r) * r.load.durationS, 0) / seconds, 2)
  const cpuSeconds = (pick: (r: Round) => number) => rounds.reduce((a, r) => a + pick(r) * r.load.durationS, 0)
  return {
    rps: round(ok / seconds, 1),
    rounds: rounds.map((r) => r.load.rps),
    p50Ms: Math.max(...rounds.map((r) => r.load.latencyMs.p50)),
    p99Ms: Math.max(...rounds.map((r) => r.load.latencyMs.p99)),
    ok,
    non2xx: rounds.reduce((a, r) => a + r.load.non2xx, 0),
    errors: rounds.reduce((a, r) => a + r.load.errors, 0),
    cpuMsPerSubmission: {
      target: round(cpuSeconds((r) => r.cpuShare.target) * 1000 / Math.max(1, ok), 3),
      postgres: round(cpuSeconds((r) => r.cpuShare.postgres) * 1000 / Math.max(1, ok), 3)
    },
    targetCpuShare: weighted((r) => r.cpuShare.target),
    transactionsPerSubmission: round(transactions / Math.max(1, submissions), 2),
    waits: mergeWaits(rounds.map((r) => r.waits))
  }
}

/** Waits over several rounds, weighted by each round's active-backend samples; the five largest shares. */
function mergeWaits (list: WaitSample[]): Side['waits'] {
  const samples = list.reduce((a, w) => a + w.samples, 0)
  const activeSamples = list.reduce((a, w) => a + w.activeBackends * w.samples, 0)
  const sums: Record<string, number> = {}
  for (const w of list) for (const [k, v] of Object.entries(w.shares)) sums[k] = (sums[k] ?? 0) + v * w.activeBackends * w.samples
  const top = Object.entries(sums).sort((a, b) => b[1] - a[1]).slice(0, 5)
  return { activeBackends: round(activeSamples / Math.max(1, samples), 2), shares: Object.fromEntries(top.map(([k, v]) => [k, round(v / Math.max(1, activeSamples), 3)])) }
}

export const submitPg: Scenario = {
  name: 'submit-pg',
  async run (ctx): Promise<ScenarioResult> {
    const base = benchDatabaseBase()
    if (base === undefined) {
      return { ours: 'skipped', reference: '—', ratio: null, target: TARGET, met: null, figures: {}, notes: [NO_POSTGRES_NOTE + '; the graphile-worker peer needs PostgreSQL'], skipped: 'no PostgreSQL' }
    }
    const settings = await admin(base, async (c) => {
      const show = async (name: string) => String((await c.query(`show ${name}`)).rows[0][name])
      return { version: await show('server_version'), fsync: await show('fsync'), synchronousCommit: await show('synchronous_commit') }
    })
    const oursDb = await freshDatabase(base)
    const peerDb = await freshDatabase(base)
    const children: NodeChild[] = []
    try {
      const ours = await startService('service (submit-pg)', { ROLE: 'api', DATABASE_URL: oursDb.url })
      children.push(ours)
      const peer = await spawnNode('graphile-worker peer (submit-pg)', 'bench/peers/graphile-worker.ts', { DATABASE_URL: peerDb.url })
      children.push(peer)
      const startCommits = { ours: await settledCommits(oursDb), peer: await settledCommits(peerDb) }

      const rounds: Round[] = []
      for (const who of ORDER) {
        ctx.log(`submit-pg: ${who === 'ours' ? 'ours (api-only replica)' : 'graphile-worker peer (addJob, no worker)'}, ${SUBMIT_LOAD.connections} connections × ${SUBMIT_LOAD.durationS} s after ${SUBMIT_LOAD.warmupS} s warm-up`)
        rounds.push(who === 'ours' ? await measureRound(who, ours, base, oursDb, authHeaders) : await measureRound(who, peer, base, peerDb, {}))
      }
      // The transaction counts include the warm-ups, so the submissions counted do too.
      const submitted = (who: Round['who']) => rounds.filter((r) => r.who === who).reduce((a, r) => a + r.load.ok + r.load.non2xx + r.warmupRequests, 0)
      const endCommits = { ours: await settledCommits(oursDb), peer: await settledCommits(peerDb) }
      const o = side(rounds.filter((r) => r.who === 'ours'), endCommits.ours - startCommits.ours, submitted('ours'))
      const p = side(rounds.filter((r) => r.who === 'peer'), endCommits.peer - startCommits.peer, submitted('peer'))
      return report(o, p, rounds, settings)
    } finally {
      await Promise.all(children.map((c) => c.stop()))
      await oursDb.drop()
      await peerDb.drop()
    }
  }
}

function report (o: Side, p: Side, rounds: Round[], settings: Record<string, string>): ScenarioResult {
  const ratio = round(o.rps / p.rps, 3)
  const clean = o.non2xx === 0 && o.errors === 0 && p.non2xx === 0 && p.errors === 0
  const met = ratio >= 1.0 && clean
  const notes = [
    `ours = POST /v1/jobs/data-action on an api-only replica (ROLE=api) on a fresh PostgreSQL database, with API-key auth, rate limiting, helmet, metrics, the idempotency fingerprint, the job row, its timeline entry and the wake-up NOTIFY; peer = bench/peers/graphile-worker.ts: Fastify with the same server options, schema and checks, and graphile-worker's addJob (one add_job call, committed before the 202) on its own fresh database on the same server, no worker running. Both pools hold 10 connections. Rounds ran ${ORDER.join(', ')}; each is ${SUBMIT_LOAD.warmupS} s warm-up + ${SUBMIT_LOAD.durationS} s measured with ${SUBMIT_LOAD.connections} connections; req/s is over all measured seconds of a side`,
    `PostgreSQL ${settings.version} with fsync=${settings.fsync}, synchronous_commit=${settings.synchronousCommit}${settings.fsync === 'off' ? ': its commits do not wait for the disk here, so the figures show CPU and round trips, not fsync' : ''}; PostgreSQL CPU is that of the backends connected to the side's own database (the server's shared processes, e.g. the WAL writer, are not counted)`
  ]
  const waits = (w: Side['waits']) => `${w.activeBackends} backends active on average, ${Object.entries(w.shares).map(([k, v]) => `${k} ${round(v * 100, 0)}%`).join(', ')}`
  notes.push(`what each side spent its time on: ours ${o.cpuMsPerSubmission.target} ms of service CPU per submission (its event loop busy ${o.targetCpuShare} CPU-seconds per second) and ${o.cpuMsPerSubmission.postgres} ms in PostgreSQL, ${o.transactionsPerSubmission} transactions per submission; the peer ${p.cpuMsPerSubmission.target} ms in its process (${p.targetCpuShare} CPU-seconds per second) and ${p.cpuMsPerSubmission.postgres} ms in PostgreSQL, ${p.transactionsPerSubmission} per submission. Sampled every 50 ms, the backends executing statements (CPU, or the wait they were in): ours ${waits(o.waits)}; the peer ${waits(p.waits)}. A commit that sent NOTIFY takes a server-wide lock (Lock:object) until it ends, so transactions that notify queue for each other across every database of the server`)
  if (!clean) notes.push(`not every answer was 2xx: ours ${o.non2xx} non-2xx and ${o.errors} errors, peer ${p.non2xx} non-2xx and ${p.errors} errors`)
  if (!met) {
    const perOurs = round(1000 / o.rps, 2)
    const perPeer = round(1000 / p.rps, 2)
    notes.push(`missed: ${perOurs} ms per submission against the peer's ${perPeer} ms. Ours used ${o.cpuMsPerSubmission.target} ms of service CPU per submission (its event loop ${o.targetCpuShare} CPU-seconds per second${o.targetCpuShare >= 0.9 ? ', saturated' : ''}) against the peer's ${p.cpuMsPerSubmission.target} ms (${p.targetCpuShare}); PostgreSQL spent ${o.cpuMsPerSubmission.postgres} ms per submission of ours and ${p.cpuMsPerSubmission.postgres} ms per peer submission. Ours committed ${o.transactionsPerSubmission} PostgreSQL transactions per submission (the peer ${p.transactionsPerSubmission}): each is a pool checkout, BEGIN, the statements Kysely built, COMMIT, each a loopback round trip answered by a PostgreSQL backend on the same two cores, where the peer sends one add_job call as a single statement`)
  }
  return {
    ours: `${o.rps} req/s, p99 ${o.p99Ms} ms`,
    reference: `graphile-worker peer ${p.rps} req/s, p99 ${p.p99Ms} ms`,
    ratio,
    target: TARGET,
    met,
    figures: {
      oursRps: o.rps,
      peerRps: p.rps,
      oursP99Ms: o.p99Ms,
      peerP99Ms: p.p99Ms,
      ours: o,
      peer: p,
      rounds: rounds.map((r) => ({ who: r.who, rps: r.load.rps, p50Ms: r.load.latencyMs.p50, p99Ms: r.load.latencyMs.p99, cpuShare: r.cpuShare, machineBusy: r.machineBusy, activeBackends: r.waits.activeBackends, non2xx: r.load.non2xx, errors: r.load.errors })),
      postgres: settings
    },
    notes
  }
}
