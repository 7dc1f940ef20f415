import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { api, startService } from '../helpers/service.ts'
import { startTestSandbox } from '../helpers/genesys-env.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'

/** Debian's package; Playwright never downloads a browser here. */
const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
// Only when the service runs: the check also asserts that logs were captured.
if (hasChromium) checkLogsForSecretsAfterAll()
const SCREENSHOT = '/tmp/docs-browser.png'
const KEY = 'docs-browser-key-7c2f9a1e4b6d'
trackSecret(KEY)
const auth = { authorization: `Bearer ${KEY}` }

test('docs: in a real browser, Swagger UI authorizes with a key and "Try it out" submits a job (202)', { timeout: 60_000 }, async (t) => {
  if (!hasChromium) {
    if (process.env.CI !== undefined && process.env.CI !== '') assert.fail(`${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`)
    t.skip(`${CHROMIUM} is missing: install Debian's chromium package to run this test`)
    return
  }

  // t.after hooks run in the order registered, so one hook closes everything, last opened first.
  const cleanups: Array<() => Promise<void>> = []
  t.after(async () => {
    const errors: unknown[] = []
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => { errors.push(err) })
    if (errors.length > 0) throw errors[0]
  })
  const db = await createTestDatabase()
  cleanups.push(() => db.drop())
  const sb = await startTestSandbox()
  cleanups.push(() => sb.sandbox.close())
  const svc = await startService(undefined, {
    ...db.env,
    ...sb.env,
    API_KEYS: JSON.stringify([{ name: 'docs-browser', key: KEY, scopes: ['jobs:read', 'jobs:write'] }])
  })
  cleanups.push(async () => {
    trackSecret(await svc.app.genesys.client.tokens.get())
    await svc.close()
  })

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  cleanups.push(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } })
  const page = await context.newPage()

  // Anything the CSP refused (Chromium reports every violation on the console), and any script error, fails the test.
  const problems: string[] = []
  page.on('console', (message) => {
    const text = message.text()
    if (!/Content[ -]Security[ -]Policy|Refused to /i.test(text)) return
    problems.push(`console ${message.type()}: ${text}`)
  })
  page.on('pageerror', (error) => { problems.push(`page error: ${error.message}`) })

  const submissions: Array<{ authorization: string | undefined }> = []
  page.on('request', (request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/v1/jobs/data-action') {
      submissions.push({ authorization: request.headers().authorization })
    }
  })

  await page.goto(`${svc.url}/docs`)
  await page.locator('.swagger-ui .information-container .title').waitFor({ timeout: 10_000 })

  // Authorize: the bearerAuth scheme takes the raw key.
  await page.locator('.swagger-ui .auth-wrapper button.authorize').click()
  const modal = page.locator('.swagger-ui .dialog-ux .modal-ux')
  await modal.waitFor()
  const scheme = modal.locator('.auth-container').filter({ hasText: 'bearerAuth' })
  await scheme.locator('input').fill(KEY)
  await scheme.locator('.auth-btn-wrapper button.authorize').click()
  await scheme.locator('button.btn-done').click()
  await modal.waitFor({ state: 'detached' })

  // Open the data-action submission, try it out with the example body, execute.
  const operation = page.locator('.swagger-ui .opblock.opblock-post').filter({
    has: page.locator('.opblock-summary-path[data-path="/v1/jobs/data-action"]')
  })
  await operation.locator('.opblock-summary').first().click()
  await operation.locator('button.try-out__btn').click()
  const bodyEditor = operation.locator('textarea.body-param__text')
  await bodyEditor.waitFor()
  const example = JSON.parse(await bodyEditor.inputValue())
  assert.equal(example.actionId, SANDBOX_FIXTURES.actions.echo, 'the body is pre-filled from the OpenAPI example')

  const answered = page.waitForResponse((response) => response.request().method() === 'POST' && new URL(response.url()).pathname === '/v1/jobs/data-action')
  await operation.locator('button.execute').click()
  const response = await answered
  const job = await response.json()
  const status = operation.locator('.responses-wrapper .live-responses-table .response .response-col_status')
  await status.waitFor()
  await operation.locator('.responses-wrapper .live-responses-table').scrollIntoViewIfNeeded()
  await page.screenshot({ path: SCREENSHOT, fullPage: false })

  assert.equal((await status.innerText()).trim(), '202', `Swagger UI shows the answer's status (body: ${JSON.stringify(job)})`)
  assert.deepEqual(submissions, [{ authorization: `Bearer ${KEY}` }], 'the browser sent the key once, as a bearer token')
  assert.deepEqual(problems, [], 'the page ran without CSP violations or script errors')

  // The job exists, seen through the API with the same key, and runs to the end against the sandbox.
  const listed = await api(svc.url, 'GET', '/v1/jobs?kind=data-action', undefined, auth)
  assert.equal(listed.status, 200)
  assert.deepEqual(listed.body.items.map((j: { id: string }) => j.id), [job.id])
  const finished = await api(svc.url, 'GET', `/v1/jobs/${job.id}?waitSeconds=10`, undefined, auth)
  assert.equal(finished.body.kind, 'data-action')
  assert.equal(finished.body.status, 'succeeded', JSON.stringify(finished.body))
  assert.equal(finished.body.submittedBy, 'docs-browser', 'the job was submitted as the key')
})
