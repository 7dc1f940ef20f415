// Retention (RETENTION_DAYS) and the audit archive, driven by a clock the test moves: jobs and
// audit records are made "old" by moving the service's time two days on, never by waiting.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { gunzipSync, gzipSync } from 'node:zlib'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { api, eventually, startService, type RunningService } from '../helpers/service.ts'
import { startTestSandbox } from '../helpers/genesys-env.ts'
import { connectDirectly, createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { createManualClock, type ManualClock } from '../helpers/manual-clock.ts'
import { startCallbackReceiver } from '../helpers/callback-receiver.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'
import { mapLimit } from '../reliability/mixed-jobs.ts'

checkLogsForSecretsAfterAll()
const DAY = 86_400_000
const T0 = Date.parse('2026-01-05T09:00:00.000Z')
const WEBHOOK_SECRET = 'retention-flow-events-secret-41c7'
trackSecret(WEBHOOK_SECRET)
const OLD_JOBS = 1000
const OLD_FLOWS = 5
const EXTRA_AUDIT = 25_000
const STRAY_EVENTS = 20

let db: TestDatabase
let sandbox: Sandbox
let svc: RunningService
let clock: ManualClock
let archiveDir: string
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>
const cleanups: Array<() => Promise<void> | void> = []

const serviceEnv = () => ({
  WEBHOOK_SECRET,
  RETENTION_DAYS: '1',
  RETENTION_BATCH_SIZE: '25',
  RETENTION_BATCH_PAUSE_MS: '1',
  AUDIT_ARCHIVE_DIR: archiveDir,
  CALLBACK_ALLOW_HTTP: 'true',
  CALLBACK_ALLOW_PRIVATE_NETWORKS: 'true',
  JOB_MAX_DURATION_MS: String(30 * DAY),
  WORKER_CONCURRENCY: '32'
})

before(async () => {
  db = await createTestDatabase()
  const started = await startTestSandbox()
  sandbox = started.sandbox
  receiver = await startCallbackReceiver()
  archiveDir = mkdtempSync(join(tmpdir(), 'audit-archive-'))
  clock = createManualClock(T0)
  svc = await startService(undefined, { ...db.env, ...started.env, ...serviceEnv() }, { clock })
  sandbox.setWebhooks({ flowEventsUrl: `${svc.url}/v1/webhooks/genesys/flow-events`, flowEventsSecret: WEBHOOK_SECRET })
  cleanups.push(() => svc.close(), () => sandbox.close(), () => receiver.close(), () => db.drop(), () => rmSync(archiveDir, { recursive: true, force: true }))
})
after(async () => { for (const cleanup of cleanups) await cleanup() })

/** One sample of a counter (or gauge) of /metrics; 0 when absent. */
async function metric (base: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `/metrics has ${name}`)
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels === '' ? ' ' : `{${labels}}`}`))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

const TABLES = {
  job_labels: 'job_id',
  job_events: 'job_id',
  job_items: 'job_id',
  webhook_events: 'job_id',
  idempotency_keys: 'job_id',
  callback_outbox: 'job_id'
} as const

/** Rows per table that hang from these jobs, and the job rows themselves. */
async function rowsOf (ids: string[]): Promise<Record<string, number>> {
  const direct = await connectDirectly(db)
  try {
    const counts: Record<string, number> = {}
    for (const [table, column] of Object.entries({ jobs: 'id', ...TABLES })) {
      let total = 0
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500)
        const [row] = await direct.query<{ n: number | string }>(`select count(*) as n from ${table} where ${column} in (${chunk.map(() => '?').join(',')})`, chunk)
        total += Number(row!.n)
      }
      counts[table] = total
    }
    return counts
  } finally {
    await direct.close()
  }
}

async function submit (kind: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await api(svc.url, 'POST', `/v1/jobs/${kind}`, body, headers)
  assert.equal(res.status, 202, JSON.stringify(res.body))
  return res.body.id as string
}

async function terminal (ids: string[]): Promise<Array<{ id: string, status: string }>> {
  return await mapLimit(ids, 20, async (id) => await eventually(async () => {
    const job = (await api(svc.url, 'GET', `/v1/jobs/${id}?waitSeconds=5`)).body
    return ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(job.status) ? job : undefined
  }, 60_000, `job ${id} to end`))
}

const oldJobs: string[] = []
const oldFlows: string[] = []
let waiting: string
let running: string
let oldRows: Record<string, number>
let untouchedRows: Record<string, number>

test('retention: 1 000 old terminal jobs with all their rows are pruned while submissions continue; running and waiting jobs untouched', async (t) => {
  // Day 0: jobs with labels, timeline, items, an idempotency key and a delivered callback; flows whose
  // node events are attached to them; events that name no job; a long audit chain.
  oldJobs.push(...await mapLimit(Array.from({ length: OLD_JOBS }, (_, i) => i), 16, async (i) => await submit('test-script', {
    script: i % 10 === 0 ? [{ op: 'event', type: 'note' }, { op: 'fail', code: 'PLANNED', message: 'planned failure' }] : [{ op: 'event', type: 'note' }, { op: 'items', count: 3 }],
    labels: { batch: 'old', n: String(i) },
    callbackUrl: `${receiver.url}/done/${i}`
  }, { 'Idempotency-Key': `retention-old-${i}-key` })))
  for (let i = 0; i < OLD_FLOWS; i++) {
    oldFlows.push(await submit('flow-execution', { flowId: SANDBOX_FIXTURES.flows.completes, variables: [{ name: 'Flow.customerId', value: `C-${i}` }], pollIntervalMs: 100 }))
  }
  const ended = await terminal([...oldJobs, ...oldFlows])
  assert.equal(ended.filter((j) => j.status === 'succeeded').length, OLD_JOBS - OLD_JOBS / 10 + OLD_FLOWS, JSON.stringify(ended.slice(OLD_JOBS)))
  await eventually(async () => receiver.received.length >= OLD_JOBS ? true : undefined, 60_000, 'every callback delivered')
  for (let i = 0; i < STRAY_EVENTS; i++) {
    const res = await api(svc.url, 'POST', '/v1/webhooks/genesys/flow-events', { eventId: `stray-${i}`, eventType: 'flow.node.enter', flowExecutionId: `unknown-${i}`, nodeId: 'n1' }, { 'x-webhook-secret': WEBHOOK_SECRET })
    assert.equal(res.body.status, 'unmatched')
  }
  await svc.app.store.transaction(async (tx) => {
    await tx.audit.appendMany(Array.from({ length: EXTRA_AUDIT }, (_, i) => ({ event: 'test.filler', details: { i } })), clock.now())
  })
  // Unfinished jobs from day 0: one parked for 10 days, one whose step is running.
  waiting = await submit('test-script', { script: [{ op: 'wait', ms: 10 * DAY }], labels: { batch: 'old-waiting' } })
  running = await submit('test-script', { script: [{ op: 'sleep', ms: 600_000 }], labels: { batch: 'old-running' } })
  await eventually(async () => (await api(svc.url, 'GET', `/v1/jobs/${waiting}`)).body.status === 'waiting' ? true : undefined, 30_000, 'the waiting job parks')
  await eventually(async () => (await api(svc.url, 'GET', `/v1/jobs/${running}`)).body.status === 'running' ? true : undefined, 30_000, 'the running job runs')

  oldRows = await rowsOf([...oldJobs, ...oldFlows])
  untouchedRows = await rowsOf([waiting, running])
  assert.equal(oldRows.jobs, OLD_JOBS + OLD_FLOWS)
  for (const table of Object.keys(TABLES)) assert.ok(oldRows[table]! > 0, `the old jobs have ${table} rows (${oldRows[table]})`)
  assert.equal(oldRows.idempotency_keys, OLD_JOBS)
  assert.equal(oldRows.callback_outbox, OLD_JOBS)
  const passesBefore = await metric(svc.url, 'orchestrator_retention_passes_total', 'outcome="completed"')
  assert.equal(await metric(svc.url, 'orchestrator_retention_pruned_rows_total', 'table="jobs"'), 0, 'the pass at start found nothing old')

  // Two days later: the day-0 jobs are past RETENTION_DAYS=1. Submissions go on while the pass runs:
  // the pass pauses 1 ms of the service's clock between two batches (RETENTION_BATCH_PAUSE_MS), so
  // each move of the clock lets it do at most one more batch. Whenever a batch is seen done with
  // old jobs still left, two jobs are submitted before the clock moves on.
  const timelines = async () => await Promise.all([waiting, running].map(async (id) => (await api(svc.url, 'GET', `/v1/jobs/${id}/events`)).body.events as Array<{ seq: number, type: string }>))
  const timelinesBefore = await timelines()
  clock.advance(2 * DAY)
  const fresh: string[] = []
  const seenMidPass: number[] = []
  for (;;) {
    const pruned = await metric(svc.url, 'orchestrator_retention_pruned_rows_total', 'table="jobs"')
    if (pruned > 0 && pruned < OLD_JOBS + OLD_FLOWS && pruned !== seenMidPass.at(-1)) {
      seenMidPass.push(pruned)
      fresh.push(...await Promise.all(Array.from({ length: 2 }, (_, i) => submit('test-script', { script: [{ op: 'event', type: 'fresh' }], labels: { batch: 'fresh', n: String(fresh.length + i) } }))))
    }
    if (await metric(svc.url, 'orchestrator_retention_passes_total', 'outcome="completed"') > passesBefore) break
    clock.advance(1)
    // Paces the polling only: what the loop sees does not depend on how long this is.
    await sleep(10)
  }
  assert.ok(seenMidPass.length > 0, 'submissions were accepted while the pass was under way (pruned jobs seen between 0 and all)')
  const pass = svc.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'retention pass ended').pop()
  assert.ok(pass !== undefined && pass.outcome === 'completed', 'the pass logged its end')
  const rows = Object.values(pass.pruned as Record<string, number>).reduce((x, y) => x + y, 0)
  t.diagnostic(`pass: ${pass.pruned.jobs} jobs and ${rows} rows in all pruned, ${pass.archivedRecords} audit records archived in ${pass.archiveFiles.length} files, ` +
    `in ${pass.durationMs} ms (${Math.round(rows / (pass.durationMs / 1000))} rows/s with the archive); ${fresh.length} jobs submitted meanwhile, ${seenMidPass.length} checks saw it half done`)

  const after = await rowsOf([...oldJobs, ...oldFlows])
  assert.deepEqual(after, { jobs: 0, job_labels: 0, job_events: 0, job_items: 0, webhook_events: 0, idempotency_keys: 0, callback_outbox: 0 }, 'every row of the old jobs is gone')
  for (const [table, rows] of Object.entries(oldRows)) {
    // The events that named no job go in the same pass.
    const expected = table === 'webhook_events' ? rows + STRAY_EVENTS : rows
    assert.equal(await metric(svc.url, 'orchestrator_retention_pruned_rows_total', `table="${table}"`), expected, `the metric counts the ${table} rows pruned`)
  }
  assert.equal((await api(svc.url, 'GET', `/v1/jobs/${oldJobs[0]}`)).status, 404)
  const { job_events: eventsBefore, ...otherRowsBefore } = untouchedRows
  const { job_events: eventsAfter, ...otherRowsAfter } = await rowsOf([waiting, running])
  assert.deepEqual(otherRowsAfter, otherRowsBefore, 'the running and waiting jobs keep every row')
  // Their timelines keep every entry (they may grow: the jobs go on while time moves).
  const timelinesAfter = await timelines()
  timelinesBefore.forEach((before, i) => assert.deepEqual(timelinesAfter[i]!.slice(0, before.length), before, `timeline ${i} keeps its entries; now ${JSON.stringify(timelinesAfter[i]!.slice(before.length).map((e) => e.type))} after them`))
  assert.ok(eventsAfter! >= eventsBefore!)
  assert.equal((await api(svc.url, 'GET', `/v1/jobs/${waiting}`)).body.status, 'waiting')
  assert.equal((await api(svc.url, 'GET', `/v1/jobs/${running}`)).body.status, 'running')
  const freshJobs = await terminal(fresh)
  assert.ok(freshJobs.every((j) => j.status === 'succeeded'), 'every submission made during the pass ran')
  assert.equal((await rowsOf(fresh)).jobs, fresh.length, 'no job submitted during the pass was pruned')
})

test('retention: webhook events that name no job and expired idempotency keys go with the pass; a reused key of a pruned job starts afresh', async () => {
  const direct = await connectDirectly(db)
  try {
    const [strays] = await direct.query<{ n: number | string }>("select count(*) as n from webhook_events where job_id is null and event_id like 'stray-%'")
    assert.equal(Number(strays!.n), 0, 'the day-0 events that named no job were pruned')
  } finally {
    await direct.close()
  }
  const again = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [], labels: { batch: 'old', n: '1' }, callbackUrl: `${receiver.url}/done/1` }, { 'Idempotency-Key': 'retention-old-1-key' })
  assert.equal(again.status, 202)
  assert.notEqual(again.body.id, oldJobs[1], 'the key expired and was pruned: a new job')
})

test('audit: after pruning, /v1/audit/verify passes from the checkpoint', async () => {
  const archived = await metric(svc.url, 'orchestrator_audit_archived_records_total')
  assert.ok(archived > EXTRA_AUDIT, `day-0 audit records were archived (${archived})`)
  const files = readdirSync(archiveDir).filter((f) => f.endsWith('.jsonl.gz')).sort()
  assert.equal(files.length, Math.ceil(archived / 10_000), `archive files of up to 10 000 records: ${files.join(', ')}`)
  const headBefore = (await api(svc.url, 'GET', '/v1/audit?limit=1')).body.items[0].seq
  const verify = await api(svc.url, 'GET', '/v1/audit/verify')
  const headAfter = (await api(svc.url, 'GET', '/v1/audit?limit=1')).body.items[0].seq
  assert.equal(verify.status, 200)
  assert.equal(verify.body.ok, true, JSON.stringify(verify.body))
  assert.equal(verify.body.checkpoint.seq, archived)
  assert.equal(verify.body.checkpoint.file, files[files.length - 1])
  assert.ok(verify.body.records >= headBefore - archived && verify.body.records <= headAfter - archived,
    `every record after the checkpoint verified (${verify.body.records}; the chain ended at ${headBefore}, then ${headAfter})`)
  const [oldest] = (await api(svc.url, 'GET', '/v1/audit?event=audit.checkpoint')).body.items
  assert.equal(oldest.seq, archived, 'the checkpoint is the oldest record kept, where the newest archived one stood')
  assert.deepEqual(oldest.details, { archivedThrough: archived, file: files[files.length - 1], fileFirstSeq: oldest.details.fileFirstSeq, fileLastSeq: archived, sha256: oldest.details.sha256 })
})

/** `npm run audit:verify -- <paths>` with the service's database environment. */
async function offlineVerify (...paths: string[]): Promise<{ code: number, output: string }> {
  const child = spawn(process.execPath, ['scripts/audit-verify.ts', '--', ...paths], {
    env: { ...process.env, NODE_ENV: 'test', ...db.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (c) => { output += c })
  child.stderr.on('data', (c) => { output += c })
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? -1)))
  return { code, output }
}

test('audit: npm run audit:verify over archive + live passes', async () => {
  const { code, output } = await offlineVerify(archiveDir)
  assert.equal(code, 0, output)
  const archived = await metric(svc.url, 'orchestrator_audit_archived_records_total')
  assert.match(output, new RegExp(`OK: \\d+ records verified end to end: ${archived} archived in 3 file\\(s\\), \\d+ in the database after the checkpoint at record ${archived}`))
  const files = readdirSync(archiveDir).filter((f) => f.endsWith('.jsonl.gz')).map((f) => join(archiveDir, f))
  assert.equal((await offlineVerify(...files.reverse())).code, 0, 'files may be given in any order')
})

test('audit: an edited archive line is named by npm run audit:verify', async (t) => {
  const copy = mkdtempSync(join(tmpdir(), 'audit-edited-'))
  t.after(() => rmSync(copy, { recursive: true, force: true }))
  cpSync(archiveDir, copy, { recursive: true })
  const second = readdirSync(copy).filter((f) => f.endsWith('.jsonl.gz')).sort()[1]!
  const lines = gunzipSync(readFileSync(join(copy, second))).toString('utf8').split('\n')
  const record = JSON.parse(lines[41]!)
  record.details = { ...record.details, edited: true }
  lines[41] = JSON.stringify(record)
  writeFileSync(join(copy, second), gzipSync(lines.join('\n')))
  const { code, output } = await offlineVerify(copy)
  assert.equal(code, 1, output)
  assert.match(output, new RegExp(`BROKEN: ${join(copy, second).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, line 42 \\(record ${record.seq}\\) was changed after it was written`))
})

test('audit: a missing archive file is named by npm run audit:verify', async (t) => {
  const copy = mkdtempSync(join(tmpdir(), 'audit-missing-'))
  t.after(() => rmSync(copy, { recursive: true, force: true }))
  cpSync(archiveDir, copy, { recursive: true })
  const files = readdirSync(copy).filter((f) => f.endsWith('.jsonl.gz')).sort()
  unlinkSync(join(copy, files[1]!))
  const gap = await offlineVerify(copy)
  assert.equal(gap.code, 1, gap.output)
  assert.match(gap.output, new RegExp(`BROKEN: records \\d+–\\d+ are missing .*they are in ${files[1]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(records`))

  unlinkSync(join(copy, files[2]!))
  const tail = await offlineVerify(copy)
  assert.equal(tail.code, 1, tail.output)
  assert.match(tail.output, new RegExp(`BROKEN: records \\d+–\\d+ are missing: the database's checkpoint says they were archived, and they are in ${files[1]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`))

  const named = await offlineVerify(join(copy, files[0]!), join(copy, files[1]!))
  assert.equal(named.code, 1, named.output)
  assert.match(named.output, new RegExp(`BROKEN: archive file ${join(copy, files[1]!).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist`))
})

test('audit: one verification at a time per process; a second meanwhile gets 429 with Retry-After', async () => {
  await svc.app.store.transaction(async (tx) => {
    await tx.audit.appendMany(Array.from({ length: 150_000 }, (_, i) => ({ event: 'test.filler', details: { i } })), clock.now())
  })
  // Two verifications sent together: whichever the service takes first runs, the other is refused
  // (the gate itself is shown without any timing in test/unit/audit-verify.test.ts).
  let refused
  let verified
  for (let i = 0; i < 10 && refused === undefined; i++) {
    const answers = await Promise.all([api(svc.url, 'GET', '/v1/audit/verify'), api(svc.url, 'GET', '/v1/audit/verify'), api(svc.url, 'GET', '/healthz')])
    assert.equal(answers[2].status, 200, 'the service answers while it verifies')
    refused = answers.slice(0, 2).find((a) => a.status === 429)
    verified = answers.slice(0, 2).find((a) => a.status === 200)
    assert.ok(verified !== undefined, JSON.stringify(answers.map((a) => a.body)))
  }
  assert.ok(refused !== undefined, 'a second verification was refused')
  assert.equal(refused.body.code, 'AUDIT_VERIFY_RUNNING')
  assert.match(refused.headers.get('retry-after') ?? '', /^[1-9]\d*$/)
  assert.match(refused.body.message, /already running .* retry after \d+ s/)
  assert.equal(verified!.body.ok, true)
})
