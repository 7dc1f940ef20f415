import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { api, eventually, spawnService, startService, waitForTerminal } from '../helpers/service.ts'
import { startTestSandbox } from '../helpers/genesys-env.ts'

test('flow-execution crash: after kill -9 once launches are recorded, a restart resumes polling and never launches again', async (t) => {
  const db = await createTestDatabase()
  // The executions stay RUNNING until the first process is gone: the second one must resume polling them.
  const { sandbox, env: genesysEnv } = await startTestSandbox({ progress: { flowUnknownPolls: 0, flowPollsPerNode: null } })
  t.after(async () => { await sandbox.close(); await db.drop() })
  const env = { ...db.env, ...genesysEnv, LEASE_MS: '1500', WORKER_POLL_MS: '100' }
  const first = await spawnService(env)
  t.after(() => first.kill('SIGKILL'))
  const ids: string[] = []
  for (let i = 0; i < 10; i++) {
    const res = await api(first.url, 'POST', '/v1/jobs/flow-execution', { flowId: SANDBOX_FIXTURES.flows.completes, variables: [{ name: 'Flow.customerId', value: `C-${i}` }], pollIntervalMs: 200 })
    ids.push(res.body.id)
  }
  // Every launch recorded: the job's timeline holds the execution id.
  await eventually(async () => {
    const timelines = await Promise.all(ids.map(async (id) => (await api(first.url, 'GET', `/v1/jobs/${id}/events`)).body.events))
    return timelines.every((events) => events.some((e: { type: string }) => e.type === 'remote')) ? true : undefined
  }, 20_000, 'all launches recorded')
  await first.kill('SIGKILL')
  assert.equal(sandbox.advanceFlowExecution(undefined, 'end').filter((e) => e.status === 'COMPLETED').length, 10, 'every execution ends once the first process is gone')

  const second = await spawnService(env)
  t.after(() => second.kill('SIGTERM'))
  const jobs = await Promise.all(ids.map(async (id) => await waitForTerminal(second.url, id)))
  assert.ok(jobs.every((j) => j.status === 'succeeded'), JSON.stringify(jobs.map((j) => j.error)))
  for (const job of jobs) {
    const launches = sandbox.stats().flowLaunches.filter((l) => (l.body as { inputData: Record<string, unknown> }).inputData['Flow.orchestratorJobId'] === job.id)
    assert.equal(launches.length, 1, `job ${job.id} was launched ${launches.length} times`)
  }
  assert.ok(jobs.every((j) => j.attempts > 1), 'every job was resumed by the second process')
})

test('flow-execution: in sandbox mode the built-in sandbox posts node events back, so the whole loop runs', async (t) => {
  const db = await createTestDatabase()
  const svc = await startService(t, { ...db.env, GENESYS_CLIENT_ID: '' })
  t.after(() => db.drop())
  assert.equal(svc.app.genesysMode, 'sandbox')
  const res = await api(svc.url, 'POST', '/v1/jobs/flow-execution', { flowId: SANDBOX_FIXTURES.flows.completes, variables: [{ name: 'Flow.customerId', value: 'C-7' }], pollIntervalMs: 30_000 })
  const job = (await api(svc.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=20`)).body
  assert.equal(job.status, 'succeeded', 'flow.complete from the sandbox woke the job long before its 30 s poll')
  const events = (await api(svc.url, 'GET', `/v1/jobs/${job.id}/events`)).body.events
  assert.ok(events.filter((e: { type: string }) => e.type === 'node').length >= 4)
})
