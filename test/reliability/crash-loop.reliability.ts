import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createTestDatabase } from '../helpers/database.ts'
import { spawnService, type ChildService } from '../helpers/service.ts'
import { startTestSandbox } from '../helpers/genesys-env.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'
import { answersTo } from '../helpers/sandbox-log.ts'
import {
  actionExecutionsOf, endedOutcomeUnknown, flowLaunchesOf, kindCounts, listEvaluations, planJobs, prng, RELIABILITY_PROGRESS, resilient, rowExecutions, waitForSuite,
  type JobView, type PlannedJob
} from './mixed-jobs.ts'

checkLogsForSecretsAfterAll()

/** Change it (RELIABILITY_SEED=…) to explore; the same seed replays the same jobs and kill moments. */
const SEED = Number(process.env.RELIABILITY_SEED ?? 20261123)
const JOBS = 500
const KILLS = 5
const SUBMIT_EVERY_MS = 40
const KILL_GAP_MS = [2000, 6000] as const
const SUITE = 'crash-loop'
/** How late this process's sandbox may handle a request a killed service had already sent. */
const LATE_HANDLING_MS = 1000
const SIGNING_SECRET = 'whsec_Y3Jhc2hsb29wLXJlbGlhYmlsaXR5LXNlY3JldA=='
trackSecret(SIGNING_SECRET)

const within = (kills: number[], from: number, to: number) => kills.filter((k) => k >= from && k <= to).length

test('reliability: crash loop — 500 mixed jobs survive five kill -9s at seeded random moments; outcomes match a crash-free run or, for a call cut off by a kill, REMOTE_OUTCOME_UNKNOWN; side effects never repeat unless the job opted in', async (t) => {
  const db = await createTestDatabase()
  const { sandbox, env: genesysEnv } = await startTestSandbox({
    seed: SEED,
    timing: { modelMs: 20 },
    progress: RELIABILITY_PROGRESS,
    webhooks: { signingSecret: SIGNING_SECRET }
  })
  const processes: ChildService[] = []
  // One hook, so the services are gone before their sandbox and database are.
  t.after(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')))
    await sandbox.close()
    await db.drop()
  })
  const env = {
    ...db.env,
    ...genesysEnv,
    WEBHOOK_SIGNING_SECRET: SIGNING_SECRET,
    LEASE_MS: '1500',
    WORKER_POLL_MS: '100',
    WORKER_CONCURRENCY: '64',
    GENESYS_CONCURRENCY: '32'
  }
  const plan = planJobs({
    count: JOBS,
    seed: SEED,
    suite: SUITE,
    weights: { echo: 10, slow: 14, failingAction: 3, fnGreeting: 12, fnPendingZip: 2, flowCompletes: 12, flowFails: 4, routing: 11, routingFailing: 2, llmRows: 12, llmGateway: 8, llmGatewayFails: 2 },
    slowMinMs: 150,
    slowMaxMs: 900,
    pollMs: 100,
    llmRows: 4,
    optInShare: 0.5
  })
  t.diagnostic(`seed ${SEED}; jobs: ${kindCounts(plan)}`)

  let current = await spawnService(env)
  processes.push(current)
  const url = () => current.url
  const started = Date.now()

  // Submitter: one job every 40 ms, each under its own Idempotency-Key, so a submission retried
  // across a crash (its answer lost) replays instead of making a second job.
  const ids = new Array<string>(JOBS)
  let replayed = 0
  const submitting = (async () => {
    for (const job of plan) {
      const due = started + job.index * SUBMIT_EVERY_MS
      if (due > Date.now()) await sleep(due - Date.now())
      const res = await resilient(url, 'POST', `/v1/jobs/${job.kind}`, job.body, { 'idempotency-key': `${SUITE}-${SEED}-${job.index}` })
      assert.equal(res.status, 202, `job ${job.index} (${job.variant}): ${JSON.stringify(res.body)}`)
      if (res.replayed) replayed += 1
      ids[job.index] = res.body.id
    }
  })()

  // Killer: kill -9 at seeded random moments, restarting at once each time.
  const killRng = prng(SEED ^ 0x5bd1e995)
  const kills: number[] = []
  for (let k = 0; k < KILLS; k++) {
    await sleep(Math.round(KILL_GAP_MS[0] + killRng() * (KILL_GAP_MS[1] - KILL_GAP_MS[0])))
    kills.push(Date.now())
    assert.equal(await current.kill('SIGKILL'), 'SIGKILL')
    current = await spawnService(env)
    processes.push(current)
  }
  await submitting
  t.diagnostic(`kills at +${kills.map((k) => ((k - started) / 1000).toFixed(1)).join('s, +')}s; submissions replayed after a lost answer: ${replayed}`)

  const jobs = await waitForSuite(url, SUITE, JOBS, 150_000)
  t.diagnostic(`all ${JOBS} jobs terminal ${((Date.now() - started) / 1000).toFixed(1)}s after the first submission`)
  assert.equal(jobs.length, JOBS, 'exactly one job per planned submission')
  const byId = new Map(jobs.map((j) => [j.id, j]))
  assert.equal(new Set(ids).size, JOBS)

  // 1. Every job ends as a crash-free run ends it: same status, same error code. The one exception:
  // a job that did not opt in to repeats, whose execute or launch a kill cut off between sending and
  // recording, ends REMOTE_OUTCOME_UNKNOWN (at most once: it is not sent again).
  const wrong: string[] = []
  let unknownOutcomes = 0
  for (const p of plan) {
    const job = byId.get(ids[p.index]!)!
    if (p.sideEffecting && !p.optedIn && endedOutcomeUnknown(job)) {
      unknownOutcomes += 1
      if (within(kills, Date.parse(job.startedAt ?? job.createdAt), Date.parse(job.finishedAt ?? '')) === 0) {
        wrong.push(`#${p.index} ${p.variant}: REMOTE_OUTCOME_UNKNOWN with no kill while it ran: ${JSON.stringify(job.error)}`)
      }
      continue
    }
    if (job.status !== p.expected.status || (p.expected.code !== undefined && job.error?.code !== p.expected.code)) {
      wrong.push(`#${p.index} ${p.variant}: expected ${p.expected.status} ${p.expected.code ?? ''}, got ${job.status} ${JSON.stringify(job.error ?? null)}`)
    }
  }
  assert.deepEqual(wrong, [], `${wrong.length} jobs ended differently from a crash-free run`)
  const resumed = jobs.filter((j) => j.attempts > 1).length
  assert.ok(resumed > 0, 'some jobs were resumed by a later process')

  // 2. Side effects: repeated only where a kill fell inside the documented at-least-once window.
  const stats = sandbox.stats()
  const events = async (id: string) => (await resilient(url, 'GET', `/v1/jobs/${id}/events?limit=1000`)).body.events as Array<{ at: string, type: string, data: any }>
  const ms = (iso: string | null) => Date.parse(iso ?? '')
  const counts = { executeJobs: 0, executeRepeated: 0, executeExtra: 0, flowJobs: 0, flowRelaunched: 0, flowExtra: 0, rowJobs: 0, rowsRepeated: 0, rowsUnknown: 0, gatewayJobs: 0 }
  const outside: string[] = []
  /** For every launch repeated: ms from the launch before it to the kill that caused it. */
  const launchToKill: number[] = []
  const planned = (p: PlannedJob) => byId.get(ids[p.index]!)!

  for (const p of plan) {
    const job: JobView = planned(p)
    const n = actionExecutionsOf(p, stats)
    const cutOff = endedOutcomeUnknown(job)
    if (n !== undefined) {
      counts.executeJobs += 1
      // A cut-off call may have died before its bytes left the killed process: 0 executions is possible then.
      if (n < 1 && !cutOff) outside.push(`#${p.index} ${p.variant} ended ${job.status} without executing`)
      if (n > 1 && !p.optedIn) outside.push(`#${p.index} ${p.variant} job ${job.id}: executed ${n} times without opting in to repeats`)
      if (n > 1) {
        // The window: from the moment execute may be called (the contract-checked `remote` entry)
        // until the result is recorded with the job's end.
        const remote = (await events(job.id)).filter((e) => e.type === 'remote').map((e) => ms(e.at))
        const inWindow = within(kills, Math.min(...remote), ms(job.finishedAt))
        counts.executeRepeated += 1
        counts.executeExtra += n - 1
        if (n - 1 > inWindow) outside.push(`#${p.index} ${p.variant} job ${job.id}: executed ${n} times, kills inside its execute window ${inWindow}`)
      }
    }
    if (p.kind === 'flow-execution') {
      counts.flowJobs += 1
      const launches = flowLaunchesOf(job.id, stats)
      const recorded = job.result?.flowExecutionId ?? job.error?.details?.flowExecutionId
      if (launches.length > 1 && !p.optedIn) outside.push(`#${p.index} flow job ${job.id}: launched ${launches.length} times without opting in to repeats`)
      if (launches.length < 1) { if (!cutOff) outside.push(`#${p.index} flow never launched`) } else if (cutOff) {
        // Cut off between launch and record: nothing recorded, and no second launch.
      } else if (recorded !== launches.at(-1)!.executionId) outside.push(`#${p.index} flow job ${job.id} follows ${recorded}, not its last launch ${launches.at(-1)!.executionId}: it launched again after recording`)
      for (let i = 1; i < launches.length; i++) {
        // The sandbox shares this process: a launch the killed service sent just before its end
        // may be handled (and time-stamped) a little after the kill.
        if (within(kills, launches[i - 1]!.at - LATE_HANDLING_MS, launches[i]!.at) === 0) {
          const timeline = (await events(job.id)).map((e) => `${e.at.slice(11)} ${e.type} ${JSON.stringify(e.data).slice(0, 160)}`)
          outside.push(`#${p.index} flow job ${job.id}: launch ${i + 1} with no kill since launch ${i} (launches at ${launches.map((l) => new Date(l.at).toISOString().slice(11)).join(', ')}; kills at ${kills.map((k) => new Date(k).toISOString().slice(11)).join(', ')}); timeline:\n  ${timeline.join('\n  ')}`)
        }
      }
      if (launches.length > 1) {
        counts.flowRelaunched += 1
        counts.flowExtra += launches.length - 1
        for (let i = 1; i < launches.length; i++) {
          const kill = kills.filter((k) => k <= launches[i]!.at).at(-1)!
          launchToKill.push(kill - launches[i - 1]!.at)
        }
      }
    }
    if (p.variant === 'llmRows') {
      counts.rowJobs += 1
      const perRow = rowExecutions(p, stats)
      const worst = Math.max(...perRow)
      const unknownRows = (job.result?.failedRowSamples ?? []).filter((f: { error: { code: string } }) => f.error.code === 'REMOTE_OUTCOME_UNKNOWN').length
      counts.rowsUnknown += unknownRows
      if (Math.min(...perRow) < 1 && unknownRows === 0) outside.push(`#${p.index} llm rows not all executed: ${perRow.join(',')}`)
      if (worst > 1 && !p.optedIn) outside.push(`#${p.index} llm job ${job.id}: a row ran ${worst} times without opting in to repeats`)
      if (worst > 1) {
        counts.rowsRepeated += perRow.filter((c) => c > 1).length
        const inWindow = within(kills, ms(job.createdAt), ms(job.finishedAt))
        if (worst - 1 > inWindow) outside.push(`#${p.index} llm job ${job.id}: a row ran ${worst} times, kills during the job ${inWindow}`)
      }
    }
  }

  // Gateway evaluations: exactly one created per job, whatever the kills (stable Idempotency-Key).
  const gateway = plan.filter((p) => p.variant === 'llmGateway' || p.variant === 'llmGatewayFails').map(planned)
  counts.gatewayJobs = gateway.length
  const evaluations = await listEvaluations(sandbox)
  const perEvaluation = new Map<string, number>()
  for (const e of evaluations) perEvaluation.set(e.id, (perEvaluation.get(e.id) ?? 0) + 1)
  const createRequests = gateway.map((j) => stats.evaluationKeys[`orchestrator-${j.id}-create`] ?? 0)
  for (const job of gateway) {
    const evaluationId = job.result?.evaluationId ?? job.error?.details?.evaluationId
    const created = evaluations.filter((e) => e.id === evaluationId).length
    if (created !== 1) outside.push(`gateway job ${job.id}: ${created} evaluations created for it`)
  }
  assert.equal(stats.evaluationsCreated, gateway.length, 'evaluations created == gateway jobs')
  assert.equal(evaluations.length, gateway.length, 'no evaluation without its job')

  const routingSubmits = Object.values(answersTo(sandbox, 'POST /api/v2/analytics/conversations/aggregates/jobs')).reduce((a, b) => a + b, 0)
  const routingJobs = plan.filter((p) => p.kind === 'routing-evaluation').length
  t.diagnostic(`jobs resumed by a later process: ${resumed}`)
  t.diagnostic(`calls cut off by a kill in jobs that did not opt in: ${unknownOutcomes} jobs ended REMOTE_OUTCOME_UNKNOWN (none sent again), ${counts.rowsUnknown} llm rows recorded as REMOTE_OUTCOME_UNKNOWN`)
  t.diagnostic(`data-action/custom-code: ${counts.executeJobs} jobs, ${counts.executeRepeated} executed more than once (${counts.executeExtra} extra executions), all opted in and with a kill inside their execute window`)
  t.diagnostic(`flow-execution: ${counts.flowJobs} jobs, ${counts.flowRelaunched} launched again (${counts.flowExtra} extra launches), all opted in, each after a kill inside the launch window (launch → kill: ${launchToKill.map((d) => `${d} ms`).join(', ') || 'none'})`)
  t.diagnostic(`llm rows (data-action engine): ${counts.rowJobs} jobs, ${counts.rowsRepeated} rows executed again after a kill (opted in)`)
  t.diagnostic(`llm gateway: ${counts.gatewayJobs} jobs, ${evaluations.length} evaluations created (exactly 1 per job); create requests per key: max ${Math.max(0, ...createRequests)}, total ${createRequests.reduce((a, b) => a + b, 0)}`)
  t.diagnostic(`routing-evaluation: ${routingJobs} jobs, ${routingSubmits} aggregate-job submissions (repeating one is harmless)`)
  assert.deepEqual(outside, [], 'side effects repeated outside the documented windows')

  // 3. The audit chain is intact across every crash.
  const verify = await resilient(url, 'GET', '/v1/audit/verify')
  assert.equal(verify.status, 200)
  assert.equal(verify.body.ok, true, JSON.stringify(verify.body))
  assert.ok(verify.body.records >= JOBS, `audit records ${verify.body.records}`)
  t.diagnostic(`audit: ${verify.body.records} records, chain ok`)
})
