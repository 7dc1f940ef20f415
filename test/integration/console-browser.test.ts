import { after, before, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { FIXTURE_IDS } from '../../src/fixture-ids.ts'
import { FLOW_FIXTURES } from '../../src/sandbox/fixtures.ts'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { SANDBOX_CLIENT, startTestSandbox } from '../helpers/genesys-env.ts'
import { api, eventually, startService, waitForTerminal, type RunningService } from '../helpers/service.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'
import { call, requestToken } from '../sandbox/helpers.ts'

/** Debian's package; Playwright never downloads a browser here. */
const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
if (hasChromium) checkLogsForSecretsAfterAll()

const KEY = 'console-browser-key-3f9c2a7e51d4b8'
const WEBHOOK_SECRET = 'console-flow-events-secret-8e1d4c'
trackSecret(KEY)
trackSecret(WEBHOOK_SECRET)
const auth = { authorization: `Bearer ${KEY}` }
/** Screenshots of every page go here (not committed); the path is printed as a test diagnostic. */
const SHOTS = mkdtempSync(join(tmpdir(), 'console-screens-'))
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

let db: TestDatabase
let sandbox: Sandbox
let svc: RunningService
let browser: Browser

before(async () => {
  if (!hasChromium) return
  db = await createTestDatabase()
  const sb = await startTestSandbox()
  sandbox = sb.sandbox
  svc = await startService(undefined, {
    ...db.env,
    ...sb.env,
    WEBHOOK_SECRET,
    API_KEYS: JSON.stringify([{ name: 'console-operator', key: KEY, scopes: ['jobs:read', 'jobs:write', 'audit:read', 'metrics:read'] }])
  })
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
})

after(async () => {
  if (!hasChromium) return
  await browser?.close()
  if (svc !== undefined) {
    trackSecret(await svc.app.genesys.client.tokens.get())
    await svc.close()
  }
  await sandbox?.close()
  await db?.drop()
})

function needsChromium (t: TestContext): boolean {
  if (hasChromium) return true
  if (process.env.CI !== undefined && process.env.CI !== '') assert.fail(`${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`)
  t.skip(`${CHROMIUM} is missing: install Debian's chromium package to run this test`)
  return false
}

interface Console { page: Page, problems: string[] }

/**
 * A fresh browser context on the console, signed in through the form. Every console error, page
 * error and CSP refusal (Chromium reports each on the console) is collected in `problems`.
 */
async function openConsole (t: TestContext, hash = ''): Promise<Console> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  t.after(() => context.close())
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (message) => {
    const text = message.text()
    if (message.type() === 'error' || /Content[ -]Security[ -]Policy|Refused to /i.test(text)) problems.push(`console ${message.type()}: ${text}`)
  })
  page.on('pageerror', (error) => { problems.push(`page error: ${error.message}`) })
  await page.goto(`${svc.url}/ui${hash}`)
  await page.getByLabel('API key', { exact: true }).fill(KEY)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('#sign-out').waitFor()
  return { page, problems }
}

async function screenshot (t: TestContext, page: Page, name: string): Promise<void> {
  const path = join(SHOTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  t.diagnostic(`screenshot: ${path}`)
}

/** Waits for the page to reach a state; never a fixed sleep. */
async function until<T> (probe: () => Promise<T | undefined | false>, what: string, ms = 15_000): Promise<T> {
  return await eventually(async () => {
    const value = await probe()
    return value === false ? undefined : value
  }, ms, what)
}

async function submit (kind: string, body: Record<string, unknown>): Promise<{ id: string }> {
  const answer = await api(svc.url, 'POST', `/v1/jobs/${kind}`, body, auth)
  assert.equal(answer.status, 202, JSON.stringify(answer.body))
  return answer.body
}

const listIds = async (path: string): Promise<string[]> => {
  const answer = await api(svc.url, 'GET', path, undefined, auth)
  assert.equal(answer.status, 200)
  return answer.body.items.map((j: { id: string }) => j.id)
}

const rowIds = async (page: Page): Promise<string[]> =>
  await page.locator('#jobs-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job-id') ?? ''))

const shownStatus = async (page: Page): Promise<string | null> => await page.locator('#job-status [data-status]').getAttribute('data-status')

/** A flow-execution job parked between polls: its first poll is 5 minutes away, so only an event or a cancel moves it. */
async function waitingFlowJob (labels: Record<string, string> = {}): Promise<{ id: string, flowExecutionId: string }> {
  const job = await submit('flow-execution', {
    flowId: FIXTURE_IDS.flows.completes,
    variables: [{ name: 'Flow.customerId', value: 'C-2044' }],
    pollIntervalMs: 300_000,
    timeoutMs: 3_600_000,
    labels
  })
  const flowExecutionId = await eventually(async () => {
    const [read, timeline] = await Promise.all([
      api(svc.url, 'GET', `/v1/jobs/${job.id}`, undefined, auth),
      api(svc.url, 'GET', `/v1/jobs/${job.id}/events`, undefined, auth)
    ])
    const remote = timeline.body.events.find((e: { type: string }) => e.type === 'remote')
    return read.body.status === 'waiting' && remote !== undefined ? remote.data.flowExecutionId as string : undefined
  }, 15_000, 'the flow to be launched and the job to wait for its first poll')
  return { id: job.id, flowExecutionId }
}

function assertNoProblems (problems: string[]): void {
  assert.deepEqual(problems, [], 'no console error, page error or CSP violation')
}

test('console: sign in, see the jobs, filter by kind and status', { timeout: 60_000 }, async (t) => {
  if (!needsChromium(t)) return
  const done = await submit('data-action', { actionId: FIXTURE_IDS.actions.echo, inputs: { message: 'console', count: 1 }, labels: { team: 'billing' } })
  const code = await submit('custom-code', { actionId: FIXTURE_IDS.actions.fnGreeting, inputs: { name: 'Ada', amount: 1 } })
  await waitForTerminal(svc.url, done.id, 20_000, auth)
  await waitForTerminal(svc.url, code.id, 20_000, auth)
  const waiting = await waitingFlowJob({ team: 'billing' })

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  t.after(() => context.close())
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (m) => { if (m.type() === 'error' || /Content[ -]Security[ -]Policy|Refused to /i.test(m.text())) problems.push(m.text()) })
  page.on('pageerror', (e) => { problems.push(e.message) })
  await page.goto(`${svc.url}/ui`)
  const keyField = page.getByLabel('API key', { exact: true })
  await keyField.waitFor()
  assert.equal(await keyField.getAttribute('type'), 'password')
  await screenshot(t, page, '1-sign-in')
  await keyField.fill(KEY)
  await page.getByRole('button', { name: 'Sign in' }).click()

  // Every job, as the API lists them.
  const all = await listIds('/v1/jobs?limit=50')
  await until(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(all), 'the jobs table to show the API\'s list')
  const storage = await page.evaluate(() => {
    const g = globalThis as any
    return { session: g.sessionStorage.getItem('genesys-orchestrator.console.apiKey'), local: g.localStorage.length, cookie: g.document.cookie, url: g.location.href }
  })
  assert.equal(storage.session, KEY, 'the key is kept in sessionStorage')
  assert.equal(storage.local, 0, 'nothing in localStorage')
  assert.equal(storage.cookie, '', 'no cookie')
  assert.ok(!storage.url.includes(KEY), 'the key is not in the URL')
  assert.deepEqual(await context.cookies(), [])

  // Kind, then kind and status.
  await page.getByLabel('Kind', { exact: true }).selectOption('data-action')
  const dataActions = await listIds('/v1/jobs?kind=data-action&limit=50')
  assert.ok(dataActions.includes(done.id))
  await until(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(dataActions), 'the kind filter to apply')
  assert.deepEqual([...new Set(await page.locator('#jobs-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind'))))], ['data-action'])
  await page.getByLabel('Status', { exact: true }).selectOption('succeeded')
  const succeeded = await listIds('/v1/jobs?kind=data-action&status=succeeded&limit=50')
  await until(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(succeeded), 'the kind and status filters to apply')
  assert.match(page.url(), /#\/jobs\?kind=data-action&status=succeeded$/, 'the filters are in the URL fragment, so back and links keep them')

  // Status alone: the waiting flow job, and only waiting jobs.
  await page.getByLabel('Kind', { exact: true }).selectOption('')
  await page.getByLabel('Status', { exact: true }).selectOption('waiting')
  const waitingIds = await listIds('/v1/jobs?status=waiting&limit=50')
  assert.ok(waitingIds.includes(waiting.id))
  await until(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(waitingIds), 'the status filter to apply')

  // The label filter, and a status that changes while the page is open (the list is read again).
  await page.getByLabel('Status', { exact: true }).selectOption('')
  await page.getByLabel('Labels', { exact: true }).fill('team:billing')
  await page.getByRole('button', { name: 'Apply' }).click()
  const billing = await listIds('/v1/jobs?label=team:billing&limit=50')
  assert.deepEqual([...billing].sort(), [done.id, waiting.id].sort())
  await until(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(billing), 'the label filter to apply')
  const row = page.locator(`#jobs-table tr[data-job-id="${waiting.id}"]`)
  assert.equal(await row.getAttribute('data-status'), 'waiting')
  assert.equal((await api(svc.url, 'POST', `/v1/jobs/${waiting.id}/cancel`, undefined, auth)).status, 200)
  await until(async () => (await row.getAttribute('data-status')) === 'cancelled', 'the cancelled status to show without a reload')
  assert.match(await row.locator('.status').innerText(), /Cancelled/, 'the status is written, not only colored')
  assert.match(await page.locator('.totals').innerText(), /succeeded/, 'totals per status from GET /v1/metrics')
  await screenshot(t, page, '2-jobs')

  // Paging by cursor: 12 jobs of one batch, 10 a page.
  const batch = await Promise.all(Array.from({ length: 12 }, async (_, i) => await submit('data-action', { actionId: FIXTURE_IDS.actions.echo, inputs: { message: `page ${i}`, count: i }, labels: { batch: 'paging' } })))
  const firstPage = await listIds('/v1/jobs?label=batch:paging&limit=10')
  assert.equal(firstPage.length, 10)
  await page.getByLabel('Labels', { exact: true }).fill('batch:paging')
  await page.getByRole('button', { name: 'Apply' }).click()
  await page.getByLabel('Per page', { exact: true }).selectOption('10')
  await until(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(firstPage), 'the first page of the batch')
  await page.getByRole('button', { name: 'Older' }).click()
  await until(async () => (await rowIds(page)).length === 2, 'the second page')
  assert.deepEqual([...firstPage, ...await rowIds(page)].sort(), batch.map((j) => j.id).sort(), 'the two pages hold the batch, each job once')
  assert.equal(await page.getByRole('button', { name: 'Older' }).count(), 0, 'no page after the last')
  await page.getByRole('button', { name: 'Newer' }).click()
  await until(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(firstPage), 'back to the first page')

  // Sign out forgets the key.
  await page.locator('#sign-out').click()
  await page.getByLabel('API key', { exact: true }).waitFor()
  assert.equal(await page.evaluate(() => (globalThis as any).sessionStorage.length), 0)
  assertNoProblems(problems)
})

test('console: a flow-execution job submitted through the API shows its node events arriving on the timeline while it runs, then succeeded without reloading', { timeout: 60_000 }, async (t) => {
  if (!needsChromium(t)) return
  const { id, flowExecutionId } = await waitingFlowJob()
  const { page, problems } = await openConsole(t)
  // Opened from the list, as an operator would.
  await page.locator(`#jobs-table tr[data-job-id="${id}"] a.job-link`).click()
  await page.locator('#timeline').waitFor()
  await until(async () => (await page.locator('#stream-state').getAttribute('data-stream')) === 'live', 'the timeline stream to be live')
  assert.equal(await shownStatus(page), 'waiting')
  await page.evaluate(() => { (globalThis as any).consoleTestMarker = 'same document' })

  // The workflow's node events, posted as its Web Services data action would (shared secret). The
  // job polls Genesys only on flow.complete (its next poll is 5 minutes away), so it is still
  // waiting when each one shows.
  const flow = FLOW_FIXTURES.find((f) => f.id === FIXTURE_IDS.flows.completes)!
  const post = async (eventType: string, node: { nodeId: string, nodeType: string }, n: number) => {
    const answer = await api(svc.url, 'POST', '/v1/webhooks/genesys/flow-events', {
      eventId: `console-${id}-${n}`, eventType, flowExecutionId, jobId: id, flowId: flow.id, nodeId: node.nodeId, nodeType: node.nodeType, message: `${eventType} ${node.nodeId}`
    }, { 'x-webhook-secret': WEBHOOK_SECRET })
    assert.equal(answer.body.status, 'accepted', JSON.stringify(answer.body))
  }
  let posted = 0
  for (const node of flow.nodes) {
    for (const eventType of ['flow.node.enter', 'flow.node.exit']) {
      await post(eventType, node, ++posted)
      await until(async () => (await page.locator('#timeline > li[data-type="node"]').count()) === posted, `node event ${posted} on the timeline`)
      assert.equal(await shownStatus(page), 'waiting', 'the node event arrived while the job runs')
      const state = await page.locator(`#node-path li[data-node-id="${node.nodeId}"]`).getAttribute('class')
      assert.match(state ?? '', eventType === 'flow.node.enter' ? /node-running/ : /node-done/)
    }
  }
  await screenshot(t, page, '3-flow-running')

  // Genesys finishes the execution; the workflow says so and the job polls at once.
  const token = (await requestToken(sandbox.url, SANDBOX_CLIENT.id, SANDBOX_CLIENT.secret)).body.access_token as string
  await until(async () => (await call(sandbox.url, token, 'GET', `/api/v2/flows/executions/${flowExecutionId}`)).body.status === 'COMPLETED', 'the sandbox to finish the execution')
  await post('flow.complete', flow.nodes[flow.nodes.length - 1]!, ++posted)
  await until(async () => (await shownStatus(page)) === 'succeeded', 'the status to turn succeeded')
  assert.equal(await page.evaluate(() => (globalThis as any).consoleTestMarker), 'same document', 'the page was not reloaded')
  await until(async () => (await page.locator('#stream-state').getAttribute('data-stream')) === 'ended', 'the stream to end with the job')
  assert.deepEqual(await page.locator('#node-path li[data-node-id]').evaluateAll((items) => items.map((li) => li.getAttribute('data-node-id'))), flow.nodes.map((n) => n.nodeId))
  assert.match(await page.locator('#node-path').innerText(), /Completed/)
  assert.match(await page.locator('#result').innerText(), /Flow\.result/, 'the output is shown')
  const timeline = (await api(svc.url, 'GET', `/v1/jobs/${id}/events`, undefined, auth)).body.events
  assert.equal(await page.locator('#timeline > li').count(), timeline.length, 'every timeline entry is shown once')
  await screenshot(t, page, '4-flow-succeeded')
  assertNoProblems(problems)
})

test('console: a routing-evaluation job shows one chart bar per queue', { timeout: 60_000 }, async (t) => {
  if (!needsChromium(t)) return
  const queueIds = [FIXTURE_IDS.queues.support, FIXTURE_IDS.queues.sales, FIXTURE_IDS.queues.billing, FIXTURE_IDS.queues.retention]
  const job = await submit('routing-evaluation', { queueIds, interval: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-08T00:00:00.000Z' } })
  const finished = await waitForTerminal(svc.url, job.id, 30_000, auth)
  assert.equal(finished.status, 'succeeded', JSON.stringify(finished.error))
  const ranked = finished.result.rows.map((r: { queueId: string }) => r.queueId)
  assert.equal(ranked.length, queueIds.length)

  const { page, problems } = await openConsole(t, `#/jobs/${job.id}`)
  await page.locator('#routing-ranking').waitFor()
  assert.deepEqual(await page.locator('#routing-ranking tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-queue-id'))), ranked, 'the ranked table, best first')
  const charts = ['score', ...finished.result.kpis.map((k: string) => `kpi-${k}`)]
  for (const chart of charts) {
    const canvas = page.locator(`[data-chart="${chart}"] canvas`)
    // Chart.js draws on a canvas: ask the chart it made for its bars.
    const drawn = await until(async () => await canvas.evaluate((c) => {
      const instance = (globalThis as any).Chart?.getChart(c)
      if (instance === undefined) return undefined
      const bars = instance.getDatasetMeta(0).data
      return { bars: bars.length, labels: instance.data.labels, drawn: bars.filter((b: { height: number }) => Number.isFinite(b.height)).length }
    }), `the ${chart} chart to be drawn`)
    assert.equal(drawn.bars, queueIds.length, `${chart}: one bar per queue`)
    assert.equal(drawn.drawn, queueIds.length, `${chart}: every bar has a height`)
    assert.deepEqual(drawn.labels, ranked, `${chart}: bars labelled by queue, in rank order`)
    assert.match(await canvas.getAttribute('aria-label') ?? '', new RegExp(ranked[0]), 'the chart is named by its figures for assistive technology')
  }
  await screenshot(t, page, '5-routing')
  assertNoProblems(problems)
})

test('console: cancel from the console cancels a waiting job', { timeout: 60_000 }, async (t) => {
  if (!needsChromium(t)) return
  const { id } = await waitingFlowJob()
  const { page, problems } = await openConsole(t, `#/jobs/${id}`)
  await until(async () => (await shownStatus(page)) === 'waiting', 'the job page to show the waiting job')
  await page.getByRole('button', { name: 'Cancel job' }).click()
  const dialog = page.getByRole('dialog', { name: 'Cancel this job?' })
  await dialog.waitFor()
  await screenshot(t, page, '6-cancel-dialog')
  await dialog.getByRole('button', { name: 'Yes, cancel the job' }).click()
  await until(async () => (await shownStatus(page)) === 'cancelled', 'the status to turn cancelled')
  assert.match(await page.locator('#cancel-outcome').innerText(), /cancelled/)
  assert.equal(await page.getByRole('button', { name: 'Cancel job' }).count(), 0, 'a finished job offers no cancel')
  const read = await api(svc.url, 'GET', `/v1/jobs/${id}`, undefined, auth)
  assert.equal(read.body.status, 'cancelled')
  assert.equal(read.body.error.code, 'JOB_CANCELLED')
  await screenshot(t, page, '7-cancelled')
  assertNoProblems(problems)
})

test('console: the audit page loads, queries, and verify shows valid', { timeout: 60_000 }, async (t) => {
  if (!needsChromium(t)) return
  const job = await submit('data-action', { actionId: FIXTURE_IDS.actions.echo, inputs: { message: 'audit', count: 3 } })
  await waitForTerminal(svc.url, job.id, 20_000, auth)
  const { page, problems } = await openConsole(t)
  await page.getByRole('link', { name: 'Audit' }).click()
  await page.locator('#audit-table').waitFor()
  const seqs = async () => await page.locator('#audit-table tbody tr td:first-child').allInnerTexts()
  const newest = (await api(svc.url, 'GET', '/v1/audit?limit=50', undefined, auth)).body.items.map((r: { seq: number }) => String(r.seq))
  await until(async () => JSON.stringify(await seqs()) === JSON.stringify(newest), 'the newest audit records')

  await page.getByLabel('Event', { exact: true }).fill('job.succeeded')
  await page.getByLabel('Job id', { exact: true }).fill(job.id)
  await page.getByRole('button', { name: 'Search' }).click()
  const matching = (await api(svc.url, 'GET', `/v1/audit?event=job.succeeded&jobId=${job.id}`, undefined, auth)).body.items.map((r: { seq: number }) => String(r.seq))
  assert.equal(matching.length, 1)
  await until(async () => JSON.stringify(await seqs()) === JSON.stringify(matching), 'the query to apply')
  assert.match(await page.locator('#audit-table tbody tr').innerText(), new RegExp(job.id))

  // The filtered records as a file, fetched with the key (a plain link could not send it).
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: /Download these records/ }).click()])
  assert.equal(download.suggestedFilename(), 'audit.jsonl')
  const exported = readFileSync(await download.path(), 'utf8').trim().split('\n').map((line) => JSON.parse(line))
  assert.deepEqual(exported.map((r: { seq: number }) => String(r.seq)), matching)

  await page.getByRole('button', { name: 'Verify the chain' }).click()
  const verdict = page.locator('#verify-result [data-verdict]')
  await verdict.waitFor()
  const verified = (await api(svc.url, 'GET', '/v1/audit/verify', undefined, auth)).body
  assert.equal(verified.ok, true)
  assert.equal(await verdict.getAttribute('data-verdict'), 'valid')
  assert.match(await verdict.innerText(), /^Valid: [\d,]+ records? verified/)
  await screenshot(t, page, '8-audit')
  assertNoProblems(problems)
})

test('console: a service without API keys is used without one; a wrong key is refused with the reason', { timeout: 60_000 }, async (t) => {
  if (!needsChromium(t)) return
  const openDb = await createTestDatabase()
  t.after(() => openDb.drop())
  // No API_KEYS: the service runs open (and says so in its log), with its built-in sandbox.
  const open = await startService(t, { ...openDb.env })
  const job = await api(open.url, 'POST', '/v1/jobs/data-action', { actionId: FIXTURE_IDS.actions.echo, inputs: { message: 'open', count: 1 } })
  assert.equal(job.status, 202)
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  t.after(() => context.close())
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (m) => { if (m.type() === 'error' || /Content[ -]Security[ -]Policy|Refused to /i.test(m.text())) problems.push(m.text()) })
  page.on('pageerror', (e) => { problems.push(e.message) })
  await page.goto(`${open.url}/ui`)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator(`#jobs-table tr[data-job-id="${job.body.id}"]`).waitFor()
  assert.equal(await page.locator('#session-kind').innerText(), 'Open service (no API keys)')
  assert.deepEqual(problems, [])

  // Against the service with keys, a wrong key stays on the sign-in form with the service's reason.
  const guarded = await context.newPage()
  await guarded.goto(`${svc.url}/ui`)
  await guarded.getByLabel('API key', { exact: true }).fill('not-a-key-of-this-service')
  await guarded.getByRole('button', { name: 'Sign in' }).click()
  await until(async () => /does not accept this key/.test(await guarded.locator('#api-key-error').innerText().catch(() => '')), 'the refusal to show')
  assert.equal(await guarded.evaluate(() => (globalThis as any).sessionStorage.length), 0, 'a refused key is not kept')
  assert.equal(await guarded.locator('#sign-out').count(), 0)
})

type PageJobs = Array<{ name: string, hash: string, ready: string }>
let pageJobs: Promise<PageJobs> | undefined
/** One job of each kind that has its own result view, made once for both page-by-page checks (they only look). */
const jobOfEachKind = async (): Promise<PageJobs> => await (pageJobs ??= makeJobOfEachKind())

async function makeJobOfEachKind (): Promise<PageJobs> {
  const llm = await submit('llm-evaluation', {
    datasetMatrix: [{ prompt: 'status order check', expectedOutput: 'check order status' }, { prompt: 'refund a request', expectedOutput: 'a refund please' }],
    metricCalculationDirectives: { accuracy: true, latency: true, hallucination_rate: false, toxicity_score: false },
    privacyMasking: { enabled: true, patterns: ['EMAIL'] },
    engine: { type: 'data-action', actionId: FIXTURE_IDS.actions.llm, concurrency: 2 }
  })
  const action = await submit('data-action', { actionId: FIXTURE_IDS.actions.echo, inputs: { message: 'pages', count: 2 } })
  const failing = await submit('data-action', { actionId: FIXTURE_IDS.actions.platformError, inputs: {} })
  const routing = await submit('routing-evaluation', { queueIds: [FIXTURE_IDS.queues.support, FIXTURE_IDS.queues.sales], interval: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-02T00:00:00.000Z' } })
  for (const job of [llm, action, failing, routing]) await waitForTerminal(svc.url, job.id, 30_000, auth)
  const flow = await waitingFlowJob()
  return [
    { name: 'llm-evaluation', hash: `#/jobs/${llm.id}`, ready: '#llm-metrics' },
    { name: 'data-action', hash: `#/jobs/${action.id}`, ready: '[data-testid="cache-hit"]' },
    { name: 'failed data-action', hash: `#/jobs/${failing.id}`, ready: '#job-error-title' },
    { name: 'routing-evaluation', hash: `#/jobs/${routing.id}`, ready: '[data-chart="score"] canvas' },
    { name: 'waiting flow-execution', hash: `#/jobs/${flow.id}`, ready: '#stream-state[data-stream="live"]' }
  ]
}

/** Every page of the console, each in the state a person would look at it. */
async function visitEveryPage (t: TestContext, onPage: (name: string, page: Page) => Promise<void>): Promise<{ problems: string[], page: Page }> {
  const jobs = await jobOfEachKind()
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  t.after(() => context.close())
  const page = await context.newPage()
  const problems: string[] = []
  page.on('console', (m) => { if (m.type() === 'error' || /Content[ -]Security[ -]Policy|Refused to /i.test(m.text())) problems.push(`${m.type()}: ${m.text()}`) })
  page.on('pageerror', (e) => { problems.push(`page error: ${e.message}`) })
  await page.goto(`${svc.url}/ui`)
  await page.getByLabel('API key', { exact: true }).waitFor()
  await onPage('sign-in', page)
  await page.getByLabel('API key', { exact: true }).fill(KEY)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('#jobs-table').waitFor()
  await page.locator('.totals').waitFor()
  await onPage('jobs', page)
  for (const job of jobs) {
    await page.goto(`${svc.url}/ui${job.hash}`)
    await page.locator(job.ready).first().waitFor()
    await onPage(job.name, page)
  }
  await page.getByRole('button', { name: 'Cancel job' }).click()
  await page.getByRole('dialog').waitFor()
  await onPage('cancel dialog', page)
  await page.getByRole('button', { name: 'No, keep it' }).click()
  await page.goto(`${svc.url}/ui#/audit`)
  await page.locator('#audit-table').waitFor()
  await page.getByRole('button', { name: 'Verify the chain' }).click()
  await page.locator('#verify-result [data-verdict]').waitFor()
  await onPage('audit', page)
  await page.goto(`${svc.url}/ui#/no-such-page`)
  await page.getByRole('heading', { name: 'Not found' }).waitFor()
  await onPage('not found', page)
  return { problems, page }
}

/** Runs axe-core in the page; its violations, each with impact and where. */
async function axeViolations (page: Page): Promise<Array<{ id: string, impact: string, help: string, targets: string[] }>> {
  // Evaluated through the DevTools protocol, so the page's CSP (no inline script) does not apply to the checker.
  if (await page.evaluate(() => typeof (globalThis as any).axe) === 'undefined') await page.evaluate(AXE_SOURCE)
  return await page.evaluate(async () => {
    const g = globalThis as any
    const result: { violations: Array<{ id: string, impact: string, help: string, nodes: Array<{ target: unknown }> }> } = await g.axe.run(g.document, { resultTypes: ['violations'] })
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) }))
  })
}

test('console: axe-core finds no serious or critical accessibility violation on each page', { timeout: 90_000 }, async (t) => {
  if (!needsChromium(t)) return
  const found: string[] = []
  const checked: string[] = []
  const { page } = await visitEveryPage(t, async (name, page) => {
    checked.push(name)
    for (const v of await axeViolations(page)) {
      if (v.impact === 'serious' || v.impact === 'critical') found.push(`${name}: ${v.impact} ${v.id} (${v.help}) at ${v.targets.join(', ')}`)
      else t.diagnostic(`${name}: ${v.impact} ${v.id} (${v.help})`)
    }
    await screenshot(t, page, `axe-${name.replaceAll(' ', '-')}`)
  })
  assert.ok(checked.length >= 10, `every page was checked: ${checked.join(', ')}`)
  assert.deepEqual(found, [])

  // The check can fail: an image without a text alternative is a critical violation axe reports.
  await page.evaluate(() => {
    const g = globalThis as any
    const img = g.document.createElement('img')
    img.src = '/ui/favicon.svg'
    g.document.querySelector('main').append(img)
  })
  const planted = await axeViolations(page)
  assert.ok(planted.some((v) => v.id === 'image-alt' && v.impact === 'critical'), JSON.stringify(planted))
})

test('console: no console error and no CSP violation on any page', { timeout: 90_000 }, async (t) => {
  if (!needsChromium(t)) return
  const pages: string[] = []
  const { problems, page } = await visitEveryPage(t, async (name) => { pages.push(name) })
  assert.ok(pages.length >= 10, `every page was visited: ${pages.join(', ')}`)
  assert.deepEqual(problems, [])

  // The watch can see a violation: an inline script planted in the page does not run, and
  // Chromium's refusal reaches the collected problems.
  const ran = await page.evaluate(() => {
    const g = globalThis as any
    const script = g.document.createElement('script')
    script.textContent = 'window.__inlineRan = true'
    g.document.head.append(script)
    script.remove()
    return g.__inlineRan === true
  })
  assert.equal(ran, false, 'an inline script does not run under the console\'s CSP')
  await until(async () => problems.some((p) => /Content Security Policy/.test(p)), 'the refusal to be reported on the console')

  // The policy itself: /ui has its own, the API keeps its own.
  const ui = await fetch(`${svc.url}/ui`)
  const csp = ui.headers.get('content-security-policy') ?? ''
  assert.match(csp, /default-src 'self'/)
  assert.match(csp, /script-src 'self'(;|$)/)
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/)
  const apiCsp = (await fetch(`${svc.url}/v1/jobs`, { headers: auth })).headers.get('content-security-policy') ?? ''
  assert.match(apiCsp, /default-src 'none'/)
})
