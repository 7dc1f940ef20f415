import { after, before, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
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
/** A key of another team: its jobs must never show to KEY's team. */
const OTHER_TEAM_KEY = 'console-other-team-key-77a1c09e2f'
const WEBHOOK_SECRET = 'console-flow-events-secret-8e1d4c'
trackSecret(KEY)
trackSecret(OTHER_TEAM_KEY)
trackSecret(WEBHOOK_SECRET)
const auth = { authorization: `Bearer ${KEY}` }
const otherAuth = { authorization: `Bearer ${OTHER_TEAM_KEY}` }
const TEAM = 'operations'
/** Screenshots of every page go here: test-output/ is git-ignored, never committed. Printed as a test diagnostic. */
const SHOTS = fileURLToPath(new URL('../../test-output/console-screens/', import.meta.url))
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

let db: TestDatabase
let sandbox: Sandbox
let svc: RunningService
let browser: Browser

before(async () => {
  if (!hasChromium) return
  rmSync(SHOTS, { recursive: true, force: true })
  mkdirSync(SHOTS, { recursive: true })
  db = await createTestDatabase()
  const sb = await startTestSandbox()
  sandbox = sb.sandbox
  svc = await startService(undefined, {
    ...db.env,
    ...sb.env,
    WEBHOOK_SECRET,
    API_KEYS: JSON.stringify([
      { name: 'console-operator', key: KEY, team: TEAM, scopes: ['jobs:read', 'jobs:write', 'schedules:read', 'schedules:write', 'audit:read', 'metrics:read'] },
      { name: 'qa-bot', key: OTHER_TEAM_KEY, team: 'qa', scopes: ['jobs:read', 'jobs:write'] }
    ])
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

async function submit (kind: string, body: Record<string, unknown>, headers: Record<string, string> = auth): Promise<{ id: string }> {
  const answer = await api(svc.url, 'POST', `/v1/jobs/${kind}`, body, headers)
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

const shownCounts = async (page: Page): Promise<Record<string, number>> =>
  Object.fromEntries(await page.locator('#status-counts li[data-count]').evaluateAll((items) => items.map((li) => [li.getAttribute('data-status'), Number(li.getAttribute('data-count'))])))

test('console: sign in, see only the key\'s team\'s jobs (two teams of keys) with counts per status, filter by kind, status, label and created date', { timeout: 60_000 }, async (t) => {
  if (!needsChromium(t)) return
  const done = await submit('data-action', { actionId: FIXTURE_IDS.actions.echo, inputs: { message: 'console', count: 1 }, labels: { team: 'billing' } })
  const code = await submit('custom-code', { actionId: FIXTURE_IDS.actions.fnGreeting, inputs: { name: 'Ada', amount: 1 } })
  // Another team's jobs, one of each kind the filters below pick, with the same label.
  const foreign = [
    await submit('data-action', { actionId: FIXTURE_IDS.actions.echo, inputs: { message: 'not yours', count: 1 }, labels: { team: 'billing' } }, otherAuth),
    await submit('custom-code', { actionId: FIXTURE_IDS.actions.fnGreeting, inputs: { name: 'Bo', amount: 2 } }, otherAuth)
  ]
  await waitForTerminal(svc.url, done.id, 20_000, auth)
  await waitForTerminal(svc.url, code.id, 20_000, auth)
  for (const job of foreign) await waitForTerminal(svc.url, job.id, 20_000, otherAuth)
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
  await screenshot(t, page, '01-sign-in')
  await keyField.fill(KEY)
  await page.getByRole('button', { name: 'Sign in' }).click()

  // The header names the key and its team (GET /v1/me).
  await page.locator('#caller-team').waitFor()
  assert.equal(await page.locator('#caller-team').getAttribute('data-team'), TEAM)
  assert.match(await page.locator('#caller-team').innerText(), /console-operator · team operations/)

  // Every job of the team, as the API lists them, and none of the other team's.
  const all = await listIds('/v1/jobs?limit=50')
  for (const job of foreign) assert.ok(!all.includes(job.id), 'the API does not list another team\'s job')
  await until(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(all), 'the jobs table to show the API\'s list')
  for (const job of foreign) assert.equal(await page.locator(`#jobs-table tr[data-job-id="${job.id}"]`).count(), 0, 'another team\'s job is not shown')
  assert.deepEqual([...new Set(await page.locator('#jobs-table td[data-team]').evaluateAll((cells) => cells.map((c) => c.getAttribute('data-team'))))], [TEAM], 'each row shows its team, the key\'s')
  const teamCounts = async (q = '') => (await api(svc.url, 'GET', `/v1/jobs/counts${q}`, undefined, auth)).body
  await until(async () => JSON.stringify(await shownCounts(page)) === JSON.stringify((await teamCounts()).counts), 'the counts per status to be the team\'s')
  const otherTeamCounts = (await api(svc.url, 'GET', '/v1/jobs/counts', undefined, otherAuth)).body
  assert.equal(otherTeamCounts.total, foreign.length, 'the other team\'s jobs are counted for that team only')
  const storage = await page.evaluate(() => {
    const g = globalThis as any
    return { session: g.sessionStorage.getItem('genesys-orchestrator.console.apiKey'), local: g.localStorage.length, cookie: g.document.cookie, url: g.location.href }
  })
  assert.equal(storage.session, KEY, 'the key is kept in sessionStorage')
  assert.equal(storage.local, 0, 'nothing in localStorage')
  assert.equal(storage.cookie, '', 'no cookie')
  assert.ok(!storage.url.includes(KEY), 'the key is not in the URL')
  assert.deepEqual(await context.cookies(), [])

  // Kind, then kind and status; the counts follow the kind.
  await page.getByLabel('Kind', { exact: true }).selectOption('data-action')
  const dataActions = await listIds('/v1/jobs?kind=data-action&limit=50')
  assert.ok(dataActions.includes(done.id))
  await until(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(dataActions), 'the kind filter to apply')
  assert.deepEqual([...new Set(await page.locator('#jobs-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind'))))], ['data-action'])
  await until(async () => JSON.stringify(await shownCounts(page)) === JSON.stringify((await teamCounts('?kind=data-action')).counts), 'the counts of the kind')
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
  await until(async () => JSON.stringify(await shownCounts(page)) === JSON.stringify((await teamCounts('?label=team:billing')).counts), 'the counts of the label, with the cancel')
  assert.equal((await shownCounts(page)).cancelled, 1)

  // A count filters the list by its status (a pressed toggle), the way back is "in all".
  await page.locator('#status-counts li[data-status="cancelled"] button').click()
  await until(async () => JSON.stringify(await rowIds(page)) === JSON.stringify([waiting.id]), 'the cancelled count to filter the list')
  assert.equal(await page.locator('#status-counts li[data-status="cancelled"] button').getAttribute('aria-pressed'), 'true')
  assert.equal(await page.getByLabel('Status', { exact: true }).inputValue(), 'cancelled')
  await page.locator('#status-counts li[data-status="all"] button').click()
  await until(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(billing), 'back to every status')

  // Created date: nothing was created before 2000, everything after.
  await page.getByLabel('Created before', { exact: true }).fill('2000-01-01T00:00')
  await page.getByRole('button', { name: 'Apply' }).click()
  await until(async () => (await page.getByTestId('page-counts').innerText()) === 'No jobs match these filters.', 'the created-before filter to empty the list')
  assert.equal((await listIds(`/v1/jobs?label=team:billing&createdBefore=${encodeURIComponent(new Date(2000, 0, 1).toISOString())}`)).length, 0)
  await until(async () => (await page.locator('#status-counts li[data-status="all"]').innerText()).startsWith('0'), 'the counts to follow the date filter')
  assert.match(page.url(), /createdBefore=2000-01-01T/)
  await page.getByLabel('Created before', { exact: true }).fill('')
  await page.getByLabel('Created from', { exact: true }).fill('2000-01-01T00:00')
  await page.getByRole('button', { name: 'Apply' }).click()
  await until(async () => JSON.stringify(await rowIds(page)) === JSON.stringify(billing), 'the created-from filter to keep every job')
  // A span that ends before it starts is refused in words, not sent.
  await page.getByLabel('Created before', { exact: true }).fill('1999-01-01T00:00')
  await page.getByRole('button', { name: 'Apply' }).click()
  await until(async () => /must be before/.test(await page.locator('#filter-created-error').innerText().catch(() => '')), 'the bad span to be explained')
  await page.getByLabel('Created before', { exact: true }).fill('')
  await page.getByLabel('Created from', { exact: true }).fill('')
  await page.getByRole('button', { name: 'Apply' }).click()
  await until(async () => !page.url().includes('created'), 'the date filters to be cleared')
  await screenshot(t, page, '02-jobs')

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

test('console: a routing-evaluation job shows one chart bar per queue with the queue names, and with a granularity a line per queue for each KPI over time', { timeout: 60_000 }, async (t) => {
  if (!needsChromium(t)) return
  const queueIds = [FIXTURE_IDS.queues.support, FIXTURE_IDS.queues.sales, FIXTURE_IDS.queues.billing, FIXTURE_IDS.queues.retention]
  const job = await submit('routing-evaluation', { queueIds, interval: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-08T00:00:00.000Z' }, granularity: 'P1D', timeZone: 'UTC' })
  const finished = await waitForTerminal(svc.url, job.id, 30_000, auth)
  assert.equal(finished.status, 'succeeded', JSON.stringify(finished.error))
  const ranked = finished.result.rows.map((r: { queueId: string }) => r.queueId)
  const names = finished.result.rows.map((r: { queueName: string }) => r.queueName)
  assert.equal(ranked.length, queueIds.length)
  assert.deepEqual([...names].sort(), ['Billing', 'Retention', 'Sales', 'Support'], 'the API gives every queue its name')

  const { page, problems } = await openConsole(t, `#/jobs/${job.id}`)
  await page.locator('#routing-ranking').waitFor()
  assert.deepEqual(await page.locator('#routing-ranking tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-queue-id'))), ranked, 'the ranked table, best first')
  assert.deepEqual(await page.locator('#routing-ranking tbody .queue-name').allInnerTexts(), names, 'the table names each queue')
  const charts = ['score', ...finished.result.kpis.map((k: string) => `kpi-${k}`)]
  for (const chart of charts) {
    const canvas = page.locator(`[data-chart="${chart}"] canvas`)
    // Chart.js draws on a canvas: ask the chart it made for its bars.
    const drawn = await until(async () => await canvas.evaluate((c) => {
      const instance = (globalThis as any).Chart?.getChart(c)
      if (instance === undefined) return undefined
      const bars = instance.getDatasetMeta(0).data
      return { type: instance.config.type, bars: bars.length, labels: instance.data.labels, drawn: bars.filter((b: { height: number }) => Number.isFinite(b.height)).length }
    }), `the ${chart} chart to be drawn`)
    assert.equal(drawn.type, 'bar')
    assert.equal(drawn.bars, queueIds.length, `${chart}: one bar per queue`)
    assert.equal(drawn.drawn, queueIds.length, `${chart}: every bar has a height`)
    assert.deepEqual(drawn.labels, names, `${chart}: bars labelled by queue name, in rank order`)
    assert.match(await canvas.getAttribute('aria-label') ?? '', new RegExp(names[0]), 'the chart is named by its figures for assistive technology')
  }

  // Over time: a line chart per KPI, a line per queue, a point per day the API's series holds.
  const days = finished.result.rows[0].series.length
  assert.ok(days >= 2, `the series has several days (${days})`)
  for (const kpi of finished.result.kpis as string[]) {
    const canvas = page.locator(`[data-chart="trend-${kpi}"] canvas`)
    const drawn = await until(async () => await canvas.evaluate((c) => {
      const instance = (globalThis as any).Chart?.getChart(c)
      if (instance === undefined) return undefined
      return { type: instance.config.type, points: instance.data.labels.length, lines: instance.data.datasets.map((d: { label: string, data: unknown[] }) => ({ label: d.label, data: d.data })) }
    }), `the ${kpi} trend chart to be drawn`)
    assert.equal(drawn.type, 'line')
    assert.equal(drawn.points, days, `${kpi}: a point per interval`)
    assert.deepEqual(drawn.lines.map((l: { label: string }) => l.label), names, `${kpi}: a line per queue, named`)
    for (const [i, row] of finished.result.rows.entries()) {
      assert.deepEqual(drawn.lines[i].data, row.series.map((e: { kpis: Record<string, number | null> }) => e.kpis[kpi]), `${kpi}: ${row.queueName}'s line is its series`)
    }
  }
  await screenshot(t, page, '05-routing')
  assertNoProblems(problems)
})

/** An LLM dataset with planted outcomes: the sandbox model answers a prompt's words reversed and refuses BLOCK. */
const PLANTED_ROWS = [
  { prompt: 'status order check', expectedOutput: 'check order status' },
  { prompt: 'refund a request', expectedOutput: 'a refund please' },
  { prompt: 'BLOCK this prompt', expectedOutput: 'prompt this BLOCK' },
  { prompt: 'echo the words', expectedOutput: 'words the echo' },
  { prompt: 'cancel my order', expectedOutput: 'order my cancel' },
  { prompt: 'where is it', expectedOutput: 'it is there' }
]
const PLANTED_MISMATCHES = [1, 5]
const PLANTED_ERRORS = [2]

const llmRun = async (actionId: string) => await submit('llm-evaluation', {
  datasetMatrix: PLANTED_ROWS,
  metricCalculationDirectives: { accuracy: true, latency: true, hallucination_rate: false, toxicity_score: false },
  privacyMasking: { enabled: false, patterns: [] },
  engine: { type: 'data-action', actionId, concurrency: 2 }
})

const shownRows = async (page: Page) => await page.locator('#llm-rows tbody tr').evaluateAll((rows) => rows.map((r) => ({
  index: Number(r.getAttribute('data-index')),
  outcome: r.getAttribute('data-outcome'),
  expected: (r.querySelector('td.expected') as any)?.innerText,
  actual: (r.querySelector('td.actual') as any)?.innerText
})))

test('console: an LLM evaluation with planted mismatches: the mismatches filter shows exactly those rows with expected and actual output side by side; re-run of errors creates the linked job; errors, latency histogram, compare with another run, CSV and JSON Lines downloads with the key in a header', { timeout: 90_000 }, async (t) => {
  if (!needsChromium(t)) return
  const run = await llmRun(FIXTURE_IDS.actions.llm)
  const variant = await llmRun(FIXTURE_IDS.actions.llmVariant)
  for (const job of [run, variant]) assert.equal((await waitForTerminal(svc.url, job.id, 30_000, auth)).status, 'succeeded')
  const items = (await api(svc.url, 'GET', `/v1/jobs/${run.id}/items?limit=100`, undefined, auth)).body.items as Array<{ index: number, outcome: string, expectedOutput: string, output: string | null, latencyMs: number | null }>
  assert.deepEqual(items.filter((i) => i.outcome === 'mismatch').map((i) => i.index), PLANTED_MISMATCHES, 'the planted mismatches are the API\'s')
  assert.deepEqual(items.filter((i) => i.outcome === 'error').map((i) => i.index), PLANTED_ERRORS, 'the planted error is the API\'s')

  const { page, problems } = await openConsole(t, `#/jobs/${run.id}`)
  const urls: string[] = []
  const authorized: string[] = []
  page.on('request', (request) => {
    urls.push(request.url())
    if (request.headers().authorization === `Bearer ${KEY}`) authorized.push(request.url())
  })
  await page.locator('#llm-metrics').waitFor()
  assert.equal(await page.getByTestId('mismatched-rows').innerText(), String(PLANTED_MISMATCHES.length))

  // Every row, then only the mismatches: exactly the planted ones, expected and actual side by side.
  await until(async () => (await shownRows(page)).length === PLANTED_ROWS.length, 'every row to be listed')
  await page.getByLabel('Show', { exact: true }).selectOption('mismatch')
  await until(async () => JSON.stringify((await shownRows(page)).map((r) => r.index)) === JSON.stringify(PLANTED_MISMATCHES), 'the mismatches filter to apply')
  for (const row of await shownRows(page)) {
    const item = items.find((i) => i.index === row.index)!
    assert.equal(row.outcome, 'mismatch')
    assert.equal(row.expected, item.expectedOutput)
    assert.equal(row.actual, item.output)
    assert.notEqual(row.expected, row.actual)
  }
  assert.match(await page.locator('#rows-outcome').innerText(), /Mismatches \(2\)/, 'the filter says how many rows each outcome has')
  await screenshot(t, page, '09-llm-mismatches')

  // The mismatches as files: fetched with the key in a header, the filter kept, never a URL with the key.
  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download these rows (CSV)' }).click()])
  assert.equal(csv.suggestedFilename(), `job-${run.id}-items-mismatch.csv`)
  const csvLines = readFileSync(await csv.path(), 'utf8').trim().split('\n')
  assert.equal(csvLines.length, 1 + PLANTED_MISMATCHES.length, 'a header and the mismatches')
  const [jsonl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download these rows (JSON Lines)' }).click()])
  const lines = readFileSync(await jsonl.path(), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  assert.deepEqual(lines.map((l: { index: number }) => l.index), PLANTED_MISMATCHES)
  assert.ok(authorized.some((u) => u.endsWith(`/v1/jobs/${run.id}/items?outcome=mismatch&format=csv`)), 'the CSV was fetched with the key in the Authorization header')
  assert.ok(authorized.some((u) => u.endsWith(`/v1/jobs/${run.id}/items?outcome=mismatch&format=jsonl`)))

  // Errors: the row without output, with its error code.
  await page.getByLabel('Show', { exact: true }).selectOption('error')
  await until(async () => JSON.stringify((await shownRows(page)).map((r) => r.index)) === JSON.stringify(PLANTED_ERRORS), 'the errors filter to apply')
  const errored = (await api(svc.url, 'GET', `/v1/jobs/${run.id}/items?outcome=error`, undefined, auth)).body.items[0]
  assert.ok(errored.error.code.length > 0)
  assert.ok((await shownRows(page))[0]!.actual.startsWith(`no output: ${errored.error.code} `), 'the row says why it has no output')

  // The latency histogram counts every row that has a latency.
  const histogram = await until(async () => await page.locator('[data-chart="latency-histogram"] canvas').evaluate((c) => {
    const instance = (globalThis as any).Chart?.getChart(c)
    return instance === undefined ? undefined : (instance.data.datasets[0].data as number[]).reduce((a, b) => a + b, 0)
  }), 'the latency histogram to be drawn')
  assert.equal(histogram, items.filter((i) => typeof i.latencyMs === 'number').length)

  // Compare with the variant run: the one row it answers differently flips.
  await page.getByLabel('Other run (job id)', { exact: true }).fill(variant.id)
  await page.getByRole('button', { name: 'Compare', exact: true }).click()
  await page.locator('#comparison').waitFor()
  const compared = (await api(svc.url, 'GET', `/v1/jobs/${run.id}/compare/${variant.id}`, undefined, auth)).body
  const flips = await page.locator('#compare-flips tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-index'))))
  assert.deepEqual(flips, compared.items.map((f: { index: number }) => f.index))
  assert.deepEqual(flips, [3], 'the echo row flips')
  assert.match(await page.locator('#compare-figures tr[data-figure="accuracy"]').innerText(), /worse in the other/)
  await screenshot(t, page, '10-llm-compare')

  // Re-run of the errors: asked first, then a new job that names this one, with only the error rows.
  await page.getByRole('button', { name: `Re-run the errors only (${PLANTED_ERRORS.length})` }).click()
  const dialog = page.getByRole('dialog', { name: 'Re-run this job?' })
  await dialog.waitFor()
  assert.match(await dialog.innerText(), /only the 1 rows that errored/)
  await screenshot(t, page, '11-llm-rerun-dialog')
  await dialog.getByRole('button', { name: 'Yes, re-run' }).click()
  const link = page.locator('#rerun-outcome a[data-job-id]')
  await link.waitFor()
  const rerunId = await link.getAttribute('data-job-id') as string
  const rerun = (await api(svc.url, 'GET', `/v1/jobs/${rerunId}?include=input`, undefined, auth)).body
  assert.equal(rerun.rerunOf, run.id, 'the re-run names its original (rerunOf)')
  assert.equal(rerun.team, TEAM)
  assert.deepEqual(rerun.input.datasetMatrix, PLANTED_ERRORS.map((i) => PLANTED_ROWS[i]), 'only the error rows run again')
  const original = (await api(svc.url, 'GET', `/v1/jobs/${run.id}`, undefined, auth)).body
  assert.deepEqual(original.reruns, [rerunId], 'the original lists its re-run')
  // The original's page links to it (read again when its timeline gets the rerun entry), and the re-run's page links back.
  await until(async () => (await page.locator('#reruns a').allInnerTexts()).includes(rerunId), 'the original to list its re-run')
  await link.click()
  await page.locator('#rerun-of').waitFor()
  assert.equal(await page.locator('#rerun-of').innerText(), run.id)
  const finishedRerun = await waitForTerminal(svc.url, rerunId, 30_000, auth)
  await until(async () => (await shownStatus(page)) === finishedRerun.status, 'the re-run to finish on its page')
  await screenshot(t, page, '12-llm-rerun')

  assert.ok(urls.length > 0 && urls.every((u) => !u.includes(KEY)), 'the key never travels in a URL')
  assertNoProblems(problems)
})

async function createSchedule (name: string): Promise<{ id: string, nextTickAt: string }> {
  const answer = await api(svc.url, 'POST', '/v1/schedules', {
    name,
    cron: '0 6 * * *',
    timeZone: 'Europe/London',
    kind: 'data-action',
    body: { actionId: FIXTURE_IDS.actions.echo, inputs: { message: `scheduled ${name}`, count: 1 } },
    labels: { report: name }
  }, auth)
  assert.equal(answer.status, 201, JSON.stringify(answer.body))
  return answer.body
}

test('console: the schedules page loads with next run times, disables and enables a schedule, and shows its runs', { timeout: 60_000 }, async (t) => {
  if (!needsChromium(t)) return
  const schedule = await createSchedule('console-daily-echo')
  // One run by hand, so the schedule has a run with a job to show.
  const ran = await api(svc.url, 'POST', `/v1/schedules/${schedule.id}/run`, undefined, auth)
  assert.equal(ran.status, 202, JSON.stringify(ran.body))
  await waitForTerminal(svc.url, ran.body.id, 20_000, auth)

  const { page, problems } = await openConsole(t)
  await page.getByRole('link', { name: 'Schedules' }).click()
  const row = page.locator(`#schedules-table tr[data-schedule-id="${schedule.id}"]`)
  await row.waitFor()
  const listed = (await api(svc.url, 'GET', '/v1/schedules?limit=50', undefined, auth)).body.items as Array<{ id: string }>
  assert.deepEqual(await page.locator('#schedules-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-schedule-id'))), listed.map((s) => s.id))
  assert.equal(await row.locator('.next-run time').getAttribute('datetime'), schedule.nextTickAt, 'the next run time is the API\'s')
  await screenshot(t, page, '13-schedules')

  // Disable, then enable, each checked against the API.
  const read = async () => (await api(svc.url, 'GET', `/v1/schedules/${schedule.id}`, undefined, auth)).body
  await row.getByRole('button', { name: 'Disable console-daily-echo' }).click()
  await until(async () => (await row.getAttribute('data-enabled')) === 'false', 'the row to show it disabled')
  assert.equal((await read()).enabled, false)
  assert.equal((await read()).nextTickAt, null)
  assert.match(await row.locator('.next-run').innerText(), /disabled/)
  await row.getByRole('button', { name: 'Enable console-daily-echo' }).click()
  await until(async () => (await row.getAttribute('data-enabled')) === 'true', 'the row to show it enabled')
  const enabled = await read()
  assert.equal(enabled.enabled, true)
  await until(async () => (await row.locator('.next-run time').getAttribute('datetime')) === enabled.nextTickAt, 'the next run time to come back')

  // The schedule's page: its runs, with the job each made.
  await row.getByRole('link', { name: 'console-daily-echo' }).click()
  await page.locator('#runs-table').waitFor()
  const runs = (await api(svc.url, 'GET', `/v1/schedules/${schedule.id}/runs`, undefined, auth)).body.items as Array<{ jobId: string | null, outcome: string }>
  assert.deepEqual(runs.map((r) => r.jobId), [ran.body.id])
  assert.deepEqual(await page.locator('#runs-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job-id'))), runs.map((r) => r.jobId))
  await until(async () => (await page.locator('#runs-table tbody tr [data-status]').getAttribute('data-status')) === 'succeeded', 'the run\'s job status')
  await screenshot(t, page, '14-schedule-runs')
  await page.locator('#runs-table a.job-link').click()
  await until(async () => (await shownStatus(page)) === 'succeeded', 'the run\'s job page')
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
let pageSchedule: Promise<{ id: string }> | undefined
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
  const schedule = await (pageSchedule ??= createSchedule('console-pages-report'))
  return [
    { name: 'llm-evaluation', hash: `#/jobs/${llm.id}`, ready: '#llm-metrics' },
    { name: 'data-action', hash: `#/jobs/${action.id}`, ready: '[data-testid="cache-hit"]' },
    { name: 'failed data-action', hash: `#/jobs/${failing.id}`, ready: '#job-error-title' },
    { name: 'routing-evaluation', hash: `#/jobs/${routing.id}`, ready: '[data-chart="score"] canvas' },
    { name: 'llm-evaluation mismatches', hash: `#/jobs/${llm.id}`, ready: '#llm-rows' },
    { name: 'schedules', hash: '#/schedules', ready: '#schedules-table' },
    { name: 'schedule', hash: `#/schedules/${schedule.id}`, ready: '#runs-empty, #runs-table' },
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
    if (job.name.endsWith('mismatches')) {
      await page.getByLabel('Show', { exact: true }).selectOption('mismatch')
      await page.locator('#llm-rows tbody tr[data-outcome="mismatch"], #rows-empty').first().waitFor()
    }
    await onPage(job.name, page)
  }
  await page.getByRole('button', { name: 'Cancel job' }).click()
  await page.getByRole('dialog').waitFor()
  await onPage('cancel dialog', page)
  await page.getByRole('button', { name: 'No, keep it' }).click()
  await page.goto(`${svc.url}/ui${jobs[0]!.hash}`)
  await page.getByRole('button', { name: 'Re-run the whole job' }).click()
  await page.getByRole('dialog', { name: 'Re-run this job?' }).waitFor()
  await onPage('re-run dialog', page)
  await page.getByRole('button', { name: 'No', exact: true }).click()
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
  assert.ok(checked.length >= 14, `every page was checked: ${checked.join(', ')}`)
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
  assert.ok(pages.length >= 14, `every page was visited: ${pages.join(', ')}`)
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
