// Issue 14 item 3: audit verification and export never stall the service. A chain of 1 000 000
// audit records, four replicas (processes) on one database each verifying it at once, /healthz
// timed on all four meanwhile; a fifth verification at the same time gets 429 with Retry-After.
// The latencies are reported (t.diagnostic), not asserted: speed is never a test's verdict.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { openStore } from '../../src/store/database.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { api, spawnService, type ChildService } from '../helpers/service.ts'

const RECORDS = 1_000_000
const PER_TRANSACTION = 10_000
const REPLICAS = 4

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b)
  return `n=${sorted.length}, p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms`
}

/**
 * The replica's own event-loop delay since the previous scrape (prom-client resets its histogram at
 * each one): what the service's loop saw, apart from the time the machine's CPUs were busy elsewhere.
 */
async function loopDelay (svc: ChildService): Promise<{ p99: number, max: number }> {
  const text = await (await fetch(`${svc.url}/metrics`)).text()
  const read = (name: string) => Number(/^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(`${name} `)) ?? '')?.[2] ?? NaN) * 1000
  return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') }
}

/** Times GET /healthz on each service, one request after another (10 ms apart), until `stop` resolves. */
function probeHealth (services: ChildService[]) {
  const samples: number[] = []
  const state = { running: true }
  const loops = services.map(async (svc) => {
    while (state.running) {
      const started = performance.now()
      const res = await fetch(`${svc.url}/healthz`)
      await res.arrayBuffer()
      samples.push(performance.now() - started)
      assert.equal(res.status, 200)
      await sleep(10)
    }
  })
  return { samples, async stop () { state.running = false; await Promise.all(loops) } }
}

test('reliability: audit verify — /healthz latency while 4 verifies of 1 000 000 audit records run (p99 reported); a fifth verify at the same time gets 429', async (t) => {
  const db = await createTestDatabase()
  const replicas: ChildService[] = []
  t.after(async () => {
    await Promise.all(replicas.map((r) => r.kill('SIGTERM')))
    await db.drop()
  })

  // The chain, written fast through the store in big transactions (hashes computed as appends compute them).
  const filling = performance.now()
  const store = await openStore({ databaseUrl: db.env.DATABASE_URL, sqlitePath: db.env.SQLITE_PATH ?? '' })
  const at = Date.now()
  for (let written = 0; written < RECORDS; written += PER_TRANSACTION) {
    await store.transaction(async (tx) => {
      await tx.audit.appendMany(Array.from({ length: PER_TRANSACTION }, (_, i) => ({
        event: 'job.succeeded', jobId: `job-${written + i}`, kind: 'data-action', actor: 'reliability', details: { n: written + i, status: 'succeeded', durationMs: 12 }
      })), at)
    })
  }
  assert.deepEqual((await store.audit.head()).seq, RECORDS)
  await store.close()
  t.diagnostic(`${RECORDS} audit records written in ${((performance.now() - filling) / 1000).toFixed(1)} s (${db.dialect})`)

  replicas.push(...await Promise.all(Array.from({ length: REPLICAS }, async () => await spawnService({ ...db.env, RETENTION_DAYS: '0' }))))
  const idle = probeHealth(replicas)
  await sleep(2000)
  await idle.stop()
  t.diagnostic(`/healthz before, idle: ${summary(idle.samples)}`)

  for (const svc of replicas) await loopDelay(svc)
  const probe = probeHealth(replicas)
  const started = performance.now()
  const verifies = replicas.map(async (svc) => {
    const res = await api(svc.url, 'GET', '/v1/audit/verify')
    return { ...res, seconds: (performance.now() - started) / 1000 }
  })
  // A fifth, while the four run: every replica already runs one.
  let refused
  for (let i = 0; i < 600 && refused === undefined; i++) {
    await sleep(100)
    const fifth = await api(replicas[i % REPLICAS]!.url, 'GET', '/v1/audit/verify')
    if (fifth.status === 429) refused = fifth
    else assert.equal(fifth.status, 200, 'a verification finished before a fifth came in: the chain is too short for this machine')
  }
  const results = await Promise.all(verifies)
  await probe.stop()
  const delays = await Promise.all(replicas.map(loopDelay))
  assert.ok(refused !== undefined, 'the fifth verification was refused')
  assert.equal(refused.body.code, 'AUDIT_VERIFY_RUNNING')
  assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/)
  for (const result of results) {
    assert.equal(result.status, 200)
    assert.deepEqual({ ok: result.body.ok, records: result.body.records, checkpoint: result.body.checkpoint }, { ok: true, records: RECORDS, checkpoint: null }, 'the chain is valid')
  }
  t.diagnostic(`4 verifies of ${RECORDS} records on ${REPLICAS} replicas (${db.dialect}): done after ${results.map((r) => r.seconds.toFixed(1)).join(', ')} s`)
  t.diagnostic(`/healthz while they ran, across the 4 replicas: ${summary(probe.samples)}`)
  t.diagnostic(`each replica's own event-loop delay meanwhile (p99 / max): ${delays.map((d) => `${d.p99.toFixed(1)} / ${d.max.toFixed(1)} ms`).join(', ')}`)
  t.diagnostic(`the fifth verification: 429 ${refused.body.code}, Retry-After ${refused.headers.get('retry-after')} s`)

  // An export of the whole chain, read by a client as fast as it can, while /healthz is timed.
  const exporting = probeHealth([replicas[0]!])
  const exportStarted = performance.now()
  const res = await fetch(`${replicas[0]!.url}/v1/audit/export`)
  let bytes = 0
  let lines = 0
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength
    // Counted natively: a byte-by-byte loop here would hold this process, the one timing /healthz.
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines += 1
  }
  await exporting.stop()
  assert.equal(lines, RECORDS)
  t.diagnostic(`export of ${RECORDS} records (${(bytes / 1e6).toFixed(0)} MB) in ${((performance.now() - exportStarted) / 1000).toFixed(1)} s; /healthz meanwhile: ${summary(exporting.samples)}`)
})
