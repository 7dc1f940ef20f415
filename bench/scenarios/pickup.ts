import { join } from 'node:path'
import { makeTempDir, removeTempDir } from '../lib/process.ts'
import { api, authHeaders, dataActionBody, ECHO_ACTION, startBenchSandbox, startService } from '../lib/service.ts'
import { commitCounters, commitsBetween, probeCommitMs } from '../lib/probe.ts'
import { percentile, round } from '../lib/stats.ts'
import type { Scenario, ScenarioResult } from '../lib/types.ts'

const WARMUP = 10
const JOBS = 200
const TARGET_MS = 5
const EXECUTE_ROUTE = 'POST /api/v2/integrations/actions/:actionId/execute'

export const pickup: Scenario = {
  name: 'pickup',
  async run (ctx): Promise<ScenarioResult> {
    const { sandbox, env } = await startBenchSandbox({ rateLimit: { limit: 100_000, windowMs: 60_000 } })
    const dir = makeTempDir('pickup')
    let service
    try {
      service = await startService('service (pickup)', {
        ...env,
        SQLITE_PATH: join(dir, 'orchestrator.db'),
        GENESYS_RATE_LIMIT_PER_MINUTE: '100000'
      })
      ctx.log(`pickup: ${WARMUP} warm-up + ${JOBS} sequential data-action submissions (cacheResults false, distinct inputs)`)
      const sentAt = new Map<string, number>()
      const claimMs: number[] = []
      const submitMs: number[] = []
      const startedAtOf = new Map<string, number>()
      let before = await commitCounters(service.url, authHeaders)
      for (let i = 0; i < WARMUP + JOBS; i++) {
        if (i === WARMUP) before = await commitCounters(service.url, authHeaders)
        const message = `pickup-${i}`
        const t0 = Date.now()
        const res = await api(service.url, 'POST', '/v1/jobs/data-action', dataActionBody({ message, count: i }))
        const answeredAt = Date.now()
        if (res.status !== 202) throw new Error(`submission answered ${res.status}: ${JSON.stringify(res.body)}`)
        const done = await api(service.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=30`)
        if (done.body.status !== 'succeeded') throw new Error(`job ${res.body.id} ended ${done.body.status}: ${JSON.stringify(done.body.error)}`)
        if (i >= WARMUP) {
          sentAt.set(message, t0)
          claimMs.push(Date.parse(done.body.startedAt) - Date.parse(done.body.createdAt))
          submitMs.push(answeredAt - t0)
          startedAtOf.set(message, Date.parse(done.body.startedAt))
        }
      }
      // Jobs ran one at a time, so the n-th execute the sandbox logged is the n-th body it kept;
      // the body's distinct message names the job.
      const stats = sandbox.stats()
      const executes = stats.log.filter((e) => e.route === EXECUTE_ROUTE && e.status === 200)
      const bodies = (stats.actionBodies[ECHO_ACTION] ?? []) as Array<{ message: string }>
      if (executes.length !== bodies.length) throw new Error(`sandbox logged ${executes.length} executes but kept ${bodies.length} bodies`)
      const pickupMs: number[] = []
      const startToCallMs: number[] = []
      bodies.forEach((body, n) => {
        const t0 = sentAt.get(body.message)
        if (t0 !== undefined) pickupMs.push(executes[n]!.at - t0)
        const started = startedAtOf.get(body.message)
        if (started !== undefined) startToCallMs.push(executes[n]!.at - started)
      })
      if (pickupMs.length !== JOBS) throw new Error(`correlated ${pickupMs.length} of ${JOBS} jobs`)
      const sqlite = commitsBetween(before, await commitCounters(service.url, authHeaders))
      const commit = probeCommitMs()
      const p50 = percentile(pickupMs, 50)
      const p99 = percentile(pickupMs, 99)
      const ratio = round(TARGET_MS / Math.max(p50, 0.5), 3)
      const notes = [
        'measured from the bench sending POST /v1/jobs/data-action (Date.now()) to the sandbox logging the arrival of that job\'s execute call (same process, same clock; the action GET is cached by then, so the execute is the job\'s first Genesys request); correlated through the distinct inputs kept in actionBodies. Millisecond resolution.',
        `p50 breakdown: submission answered (202) after ${percentile(submitMs, 50)} ms; claim delay (startedAt − createdAt of the job record) ${percentile(claimMs, 50)} ms (p99 ${percentile(claimMs, 99)}); claim to the execute's arrival at the sandbox ${percentile(startToCallMs, 50)} ms (p99 ${percentile(startToCallMs, 99)})`
      ]
      const met = p50 <= TARGET_MS
      if (!met) {
        notes.push(`missed: the floor here is one fsync'd commit (${commit.full} ms alone on this disk, often more under load) plus three HTTP exchanges on loopback. Per job the service made ${round(sqlite.commits / JOBS, 2)} fsync'd commits for ${round(sqlite.transactions / JOBS, 2)} transactions. Before the first Genesys request a job waits for three of them: the submission, the worker's claim (which starts once the submission is durable) and the prepare → execute transition. The remaining time is the long-polling client and the sandbox sharing the bench's event loop, and got's request setup`)
      }
      return {
        ours: `p50 ${p50} ms, p99 ${p99} ms`,
        reference: `${TARGET_MS} ms`,
        ratio,
        target: `p50 ≤ ${TARGET_MS} ms`,
        met,
        figures: {
          p50Ms: p50,
          p90Ms: percentile(pickupMs, 90),
          p99Ms: p99,
          maxMs: Math.max(...pickupMs),
          claimP50Ms: percentile(claimMs, 50),
          claimP99Ms: percentile(claimMs, 99),
          submitAnsweredP50Ms: percentile(submitMs, 50),
          claimToFirstCallP50Ms: percentile(startToCallMs, 50),
          claimToFirstCallP99Ms: percentile(startToCallMs, 99),
          sqliteCommitMs: commit,
          sqliteCommitsPerJob: { fsynced: round(sqlite.commits / JOBS, 2), transactions: round(sqlite.transactions / JOBS, 2) },
          jobs: JOBS,
          method: 'submit send time → sandbox arrival of the job\'s first Genesys request (execute), correlated by distinct inputs'
        },
        notes
      }
    } finally {
      await service?.stop()
      await sandbox.close()
      removeTempDir(dir)
    }
  }
}
