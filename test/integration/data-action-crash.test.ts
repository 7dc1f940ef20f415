import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { api, eventually, spawnService, waitForTerminal } from '../helpers/service.ts'
import { startTestSandbox } from '../helpers/genesys-env.ts'

test('data-action crash: kill -9 while executes are in flight; after restart no execution runs twice unless the job opted in, and a cut-off call ends REMOTE_OUTCOME_UNKNOWN', async (t) => {
  const db = await createTestDatabase()
  const { sandbox, env: genesysEnv } = await startTestSandbox()
  t.after(async () => { await sandbox.close(); await db.drop() })
  const env = { ...db.env, ...genesysEnv, WORKER_CONCURRENCY: '40', LEASE_MS: '1500', WORKER_POLL_MS: '100' }
  const { slow } = SANDBOX_FIXTURES.actions

  const first = await spawnService(env)
  t.after(() => first.kill('SIGKILL'))
  const ids: string[] = []
  const optedIn = (i: number) => i % 2 === 1
  for (let i = 0; i < 40; i++) {
    // A distinct delay per job makes each job's executions countable in the sandbox; odd jobs opt in to repeats.
    const res = await api(first.url, 'POST', '/v1/jobs/data-action', { actionId: slow, inputs: { delayMs: 300 + i * 20 }, cacheResults: false, ...(optedIn(i) ? { retryUnknownOutcome: true } : {}) })
    ids.push(res.body.id)
  }
  await eventually(async () => ((sandbox.stats().actionExecutions[slow] ?? 0) >= 15 ? true : undefined), 30_000, 'executions under way')
  await first.kill('SIGKILL')
  const killedAt = Date.now()

  const second = await spawnService(env)
  t.after(() => second.kill('SIGTERM'))
  const jobs = await Promise.all(ids.map(async (id) => await waitForTerminal(second.url, id)))

  const bodies = (sandbox.stats().actionBodies[slow] ?? []) as Array<{ delayMs: number }>
  let recordedBeforeCrash = 0
  let cutOff = 0
  let repeatedAsAsked = 0
  for (const [i, job] of jobs.entries()) {
    const runs = bodies.filter((b) => b.delayMs === 300 + i * 20).length
    if (Date.parse(job.finishedAt) < killedAt) {
      recordedBeforeCrash += 1
      assert.equal(runs, 1, `job ${job.id} finished before the crash but ran ${runs} times`)
      continue
    }
    if (optedIn(i)) {
      assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
      if (runs > 1) {
        repeatedAsAsked += 1
        const events = (await api(second.url, 'GET', `/v1/jobs/${job.id}/events`)).body.events as Array<{ type: string }>
        assert.ok(events.some((e) => e.type === 'repeat'), `job ${job.id} ran again without a repeat entry on its timeline`)
      }
      continue
    }
    assert.ok(runs <= 1, `job ${job.id} did not opt in but its action ran ${runs} times`)
    if (job.status === 'failed') {
      cutOff += 1
      assert.equal(job.error.code, 'REMOTE_OUTCOME_UNKNOWN')
      assert.match(job.error.message, /interrupted before Genesys's answer was recorded/)
    } else {
      assert.equal(job.status, 'succeeded')
      assert.equal(runs, 1)
    }
  }
  t.diagnostic(`recorded before the crash: ${recordedBeforeCrash}; cut off by the crash and not repeated (REMOTE_OUTCOME_UNKNOWN): ${cutOff}; cut off and repeated as the job asked: ${repeatedAsAsked}`)
  assert.ok(cutOff > 0, 'the kill cut off executes of jobs that did not opt in')
})
