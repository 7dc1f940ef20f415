import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createTestDatabase } from '../helpers/database.ts'
import { api, eventually, spawnService, waitForTerminal, type ChildService } from '../helpers/service.ts'
import { startEffectsServer } from '../helpers/effects-server.ts'
import { startTcpGate } from '../helpers/tcp-gate.ts'

/** A callback receiver that holds every request until released, counting them by path. */
async function startHoldingReceiver () {
  const received: string[] = []
  const waiting: ServerResponse[] = []
  let holding = true
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      received.push(req.url ?? '')
      if (holding) waiting.push(res)
      else res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    get held () { return waiting.length },
    release () {
      holding = false
      for (const res of waiting.splice(0)) res.writeHead(200).end()
    },
    close: async () => {
      for (const res of waiting.splice(0)) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/** The JSON log lines of the child service whose `msg` starts with `prefix`. */
function logLines (service: ChildService, prefix: string): Array<Record<string, any>> {
  return service.output.flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as Record<string, any>
      return typeof parsed.msg === 'string' && parsed.msg.startsWith(prefix) ? [parsed] : []
    } catch {
      return []
    }
  })
}

interface Fault {
  /** Makes the database refuse writes. */
  start (): Promise<void>
  /** Makes it take them again. */
  end (): Promise<void>
  /** The `details.condition` (and /readyz `checks.database`) the fault shows as. */
  conditions: string[]
  /** Whether reads still work during the fault (a full disk still reads; an unreachable server does not). */
  readsWork: boolean
}

/**
 * Jobs accepted before the fault, some in the middle of a step and one with a callback in
 * flight, then the fault: submissions answer 503 STORAGE_UNAVAILABLE with Retry-After, /readyz
 * 503; the steps and the callback attempt finish during the fault and cannot be recorded. Then
 * the fault ends: /readyz turns ready by itself, every job accepted before finishes with each of
 * its steps run once, the callback is recorded once and not sent again, nothing submitted during
 * the fault exists, and every component said what happened once.
 */
async function faultScenario (t: TestContext, env: Record<string, string>, makeFault: (service: ChildService) => Fault, spawnOptions: { shellPrefix?: string } = {}) {
  const effects = await startEffectsServer()
  const receiver = await startHoldingReceiver()
  t.after(async () => { await effects.close(); await receiver.close() })
  const service = await spawnService({
    ...env,
    WORKER_CONCURRENCY: '32',
    WORKER_POLL_MS: '100',
    // Longer than any fault here lasts: a job waiting to record its step keeps its lease.
    LEASE_MS: '600000',
    CALLBACK_ALLOW_HTTP: 'true',
    CALLBACK_ALLOW_PRIVATE_NETWORKS: 'true'
  }, undefined, spawnOptions)
  t.after(() => service.kill('SIGKILL'))
  const fault = makeFault(service)

  // A job that ends before the fault, its callback held at the receiver.
  const withCallback = await api(service.url, 'POST', '/v1/jobs/test-steps', { effectsUrl: effects.url, steps: 1, stepMs: 0, callbackUrl: `${receiver.url}/cb` })
  assert.equal(withCallback.status, 202)
  await eventually(async () => receiver.held === 1 ? true : undefined, 30_000, 'the callback attempt to be in flight')

  // Jobs in the middle of their first step when the fault begins.
  effects.hold()
  const accepted: string[] = []
  for (let i = 0; i < 5; i++) {
    const res = await api(service.url, 'POST', '/v1/jobs/test-steps', { effectsUrl: effects.url, steps: 2, stepMs: 0 })
    assert.equal(res.status, 202)
    accepted.push(res.body.id)
  }
  await eventually(async () => effects.held === accepted.length ? true : undefined, 30_000, 'every job to be inside its first step')

  await fault.start()

  // Submissions during the fault: 503 with Retry-After and the standard error body.
  const refused = []
  for (let i = 0; i < 3; i++) {
    refused.push(await api(service.url, 'POST', '/v1/jobs/test-steps', { effectsUrl: effects.url, steps: 1, stepMs: 0 }, i === 0 ? { 'idempotency-key': 'submitted-during-the-fault' } : {}))
  }
  for (const res of refused) {
    assert.equal(res.status, 503, JSON.stringify(res.body))
    assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/)
    assert.deepEqual(Object.keys(res.body).sort(), ['code', 'details', 'message', 'statusCode'])
    assert.equal(res.body.statusCode, 503)
    assert.equal(res.body.code, 'STORAGE_UNAVAILABLE')
    assert.match(res.body.message, /^Storage unavailable: .+\. The request could not be completed; send it again after \d+ s/)
    assert.ok(fault.conditions.includes(res.body.details.condition), JSON.stringify(res.body.details))
  }
  t.diagnostic(`a submission during the fault: ${refused[0]!.headers.get('retry-after')} s, ${JSON.stringify(refused[0]!.body)}`)

  const notReady = await api(service.url, 'GET', '/readyz')
  assert.equal(notReady.status, 503)
  assert.equal(notReady.body.status, 'not_ready')
  assert.ok(fault.conditions.includes(notReady.body.checks.database), JSON.stringify(notReady.body))
  assert.match(notReady.body.details.database, /^Storage unavailable: /)
  t.diagnostic(`/readyz during the fault: ${JSON.stringify(notReady.body)}`)

  if (fault.readsWork) {
    // A read that joined an SQLite group commit with a write (a lease renewal) fails with that
    // group, so it never shows what the failed commit takes back: it is refused like a write, and
    // the next read that shares no group with a write is answered.
    const read = await eventually(async () => {
      const res = await api(service.url, 'GET', `/v1/jobs/${accepted[0]!}`)
      if (res.status === 503) { assert.equal(res.body.code, 'STORAGE_UNAVAILABLE'); return undefined }
      return res
    }, 60_000, 'a read during the fault')
    assert.equal(read.status, 200)
    assert.equal(read.body.status, 'running')
  } else {
    const read = await api(service.url, 'GET', `/v1/jobs/${accepted[0]!}`)
    assert.equal(read.status, 503)
    assert.equal(read.body.code, 'STORAGE_UNAVAILABLE')
  }

  // The steps and the callback attempt now finish, and cannot be recorded.
  effects.release()
  receiver.release()
  await eventually(async () => logLines(service, 'workers cannot record their work').length > 0 ? true : undefined, 30_000, 'the engine to meet the fault')
  await eventually(async () => logLines(service, 'callbacks cannot be recorded').length > 0 ? true : undefined, 30_000, 'the callback deliverer to meet the fault')
  assert.equal((await api(service.url, 'GET', '/readyz')).status, 503, 'still not ready while the fault lasts')

  await fault.end()

  // Ready again by itself, and everything accepted before the fault runs to its end.
  const ready = await eventually(async () => {
    const res = await api(service.url, 'GET', '/readyz')
    return res.status === 200 ? res.body : undefined
  }, 60_000, '/readyz to turn ready')
  assert.deepEqual(ready.checks, { database: 'ok', genesysToken: 'ok' })
  for (const id of accepted) {
    const job = await waitForTerminal(service.url, id)
    assert.equal(job.status, 'succeeded', JSON.stringify(job.error))
    for (const step of ['work-0', 'work-1']) {
      assert.equal(effects.counts.get(`${id}:${step}`), 1, `job ${id} ran ${step} once`)
      assert.equal(job.result.executions[step], 1)
    }
  }
  const callbackJob = await waitForTerminal(service.url, withCallback.body.id)
  assert.equal(callbackJob.status, 'succeeded')
  const callbackEvents = await eventually(async () => {
    const res = await api(service.url, 'GET', `/v1/jobs/${withCallback.body.id}/events`)
    const entries = res.body.events as Array<{ type: string, data: Record<string, unknown> }>
    const callbacks = entries.filter((e) => e.type === 'callback')
    return callbacks.length > 0 ? callbacks : undefined
  }, 30_000, 'the callback attempt to be recorded')
  assert.equal(callbackEvents.length, 1)
  assert.equal(callbackEvents[0]!.data.outcome, 'delivered')
  assert.deepEqual(receiver.received, ['/cb'], 'the callback was sent once, not again after the fault')

  // Nothing submitted during the fault exists; the same Idempotency-Key now creates the job.
  const list = await api(service.url, 'GET', '/v1/jobs?limit=200')
  assert.equal(list.status, 200)
  assert.deepEqual(new Set(list.body.items.map((j: { id: string }) => j.id)), new Set([withCallback.body.id, ...accepted]))
  const again = await api(service.url, 'POST', '/v1/jobs/test-steps', { effectsUrl: effects.url, steps: 1, stepMs: 0 }, { 'idempotency-key': 'submitted-during-the-fault' })
  assert.equal(again.status, 202)
  assert.equal((await waitForTerminal(service.url, again.body.id)).status, 'succeeded')

  // Each component said what happened once for the episode, although many operations failed in it.
  const storeDown = logLines(service, 'Storage unavailable: ')
  const storeUp = logLines(service, 'storage available again')
  assert.equal(storeDown.length, 1, JSON.stringify(storeDown))
  assert.equal(storeUp.length, 1)
  assert.ok(storeUp[0]!.failures > 1, `several operations failed in the one episode: ${storeUp[0]!.failures}`)
  assert.equal(logLines(service, 'workers cannot record their work').length, 1)
  assert.equal(logLines(service, 'workers record their work again').length, 1)
  assert.equal(logLines(service, 'callbacks cannot be recorded').length, 1)
  assert.equal(logLines(service, 'callback deliveries recorded again').length, 1)
  assert.equal(logLines(service, 'job processing crashed').length, 0)
  assert.equal(logLines(service, 'request failed').length, 0, 'a storage fault is not logged as an internal error per request')
  t.diagnostic(`episode: ${storeDown[0]!.condition} (${storeDown[0]!.cause}), ${storeUp[0]!.failures} failed operations, ${storeUp[0]!.downMs} ms`)
}

function prlimitAvailable (): boolean {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

test('storage: disk full (an injected write failure): 503 STORAGE_UNAVAILABLE, /readyz 503, recovery afterwards with nothing lost', { skip: prlimitAvailable() ? false : 'needs util-linux prlimit' }, async (t) => {
  // SQLite whatever TEST_DATABASE_URL says: the file-size limit is the injected disk-full.
  const db = await createTestDatabase({ dialect: 'sqlite' })
  t.after(() => db.drop())
  await faultScenario(t, db.env, (service) => {
    const limit = (value: string) => { execFileSync('prlimit', ['--pid', String(service.child.pid), `--fsize=${value}:`]) }
    return {
      // Writes that would grow a file past one byte now fail with EFBIG (SIGXFSZ is ignored);
      // reads still work. Only the soft limit moves, so it can be lifted again.
      start: async () => { limit('1') },
      end: async () => { limit('unlimited') },
      conditions: ['io_error', 'disk_full'],
      readsWork: true
    }
  }, { shellPrefix: "trap '' XFSZ;" })
})

test('storage: PostgreSQL unreachable mid-run (through a TCP gate): 503 STORAGE_UNAVAILABLE, /readyz 503, recovery afterwards with nothing lost', { skip: process.env.TEST_DATABASE_URL ? false : 'needs TEST_DATABASE_URL' }, async (t) => {
  const db = await createTestDatabase()
  const target = new URL(db.env.DATABASE_URL!)
  const gate = await startTcpGate(target.hostname, Number(target.port || 5432))
  t.after(async () => { await gate.close(); await db.drop() })
  const viaGate = new URL(target)
  viaGate.hostname = gate.host
  viaGate.port = String(gate.port)
  await faultScenario(t, { DATABASE_URL: viaGate.toString() }, () => ({
    start: async () => { await gate.shut() },
    end: async () => { await gate.open() },
    conditions: ['unreachable'],
    readsWork: false
  }))
})
