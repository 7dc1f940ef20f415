import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { defaultKinds } from '../../src/jobs/kinds/index.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { api, startService, type RunningService } from '../helpers/service.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'
import { startTestSandbox } from '../helpers/genesys-env.ts'
import type { Sandbox } from '../../src/sandbox/index.ts'
import { mapLimit } from './mixed-jobs.ts'
import { bodyArbitrary, postRouteSchemas, type JsonSchema, type Mutation, type PostRoute } from './schema-arbitrary.ts'

checkLogsForSecretsAfterAll()

const SEED = Number(process.env.RELIABILITY_SEED ?? 7_001)
const RUNS = 1000
const WEBHOOK_SECRET = 'fuzz-webhook-secret-5e2f9c1d'
trackSecret(WEBHOOK_SECRET)

const JOB_ROUTES = ['custom-code', 'data-action', 'flow-execution', 'llm-evaluation', 'routing-evaluation'].map((k) => `/v1/jobs/${k}`)
const WEBHOOK_ROUTES = ['/v1/webhooks/genesys/flow-events', '/v1/webhooks/genesys/llm-evaluations']
// Routes that make jobs from others: a re-run of a finished job, and a schedule.
const OTHER_ROUTES = ['/v1/jobs/:id/rerun', '/v1/schedules']
const ERROR_KEYS = new Set(['statusCode', 'code', 'message', 'details'])

let db: TestDatabase
let sandbox: Sandbox
let svc: RunningService
let routes: PostRoute[]
/** A finished job, which the re-run route's `:id` names. */
let finished: string

before(async () => {
  db = await createTestDatabase()
  // Workers run (two at a time) against a test sandbox: accepted bodies are executed too, but
  // nothing waits for them.
  const started = await startTestSandbox()
  sandbox = started.sandbox
  svc = await startService(undefined, { ...db.env, ...started.env, WEBHOOK_SECRET, WORKER_CONCURRENCY: '2', SHUTDOWN_GRACE_MS: '500', LOG_LEVEL: 'warn' }, { kinds: defaultKinds })
  routes = await postRouteSchemas(defaultKinds, { WEBHOOK_SECRET })
  const job = await api(svc.url, 'POST', '/v1/jobs/data-action', { actionId: SANDBOX_FIXTURES.actions.echo, inputs: { message: 'to re-run' }, cacheResults: false })
  finished = job.body.id
  assert.equal((await api(svc.url, 'GET', `/v1/jobs/${finished}?waitSeconds=30`)).body.status, 'succeeded')
})

/** Where a route's requests go: the re-run route's `:id` is the finished job. */
const target = (url: string) => url.replace(':id', finished)
/** What a route answers a body it takes. */
function successStatus (url: string): number {
  if (url.startsWith('/v1/webhooks/')) return 200
  if (url === '/v1/schedules') return 201
  return 202
}
after(async () => {
  await svc?.close()
  await sandbox?.close()
  await db?.drop()
})

interface FuzzRequest { body: string, contentType: string | undefined, headers: Record<string, string>, mutations: Mutation[], raw?: string }

/** The body as JSON, or (one time in twelve) broken below the JSON level: cut short, not JSON, wrong media type. */
function requestArbitrary (route: PostRoute): fc.Arbitrary<FuzzRequest> {
  const webhook = route.url.startsWith('/v1/webhooks/')
  const headers: fc.Arbitrary<Record<string, string>> = webhook
    ? fc.oneof(
      { weight: 8, arbitrary: fc.constant<Record<string, string>>({ 'x-webhook-secret': WEBHOOK_SECRET }) },
      { weight: 1, arbitrary: fc.constant<Record<string, string>>({}) },
      { weight: 1, arbitrary: fc.constantFrom<Record<string, string>>({ 'x-webhook-secret': 'wrong-secret-wrong-secret' }, { 'x-webhook-secret': WEBHOOK_SECRET, 'webhook-id': 'msg_1', 'webhook-timestamp': '1', 'webhook-signature': 'v1,AAAA' }, { 'webhook-signature': 'v1,Zm9v' }) }
    )
    : fc.oneof(
      { weight: 9, arbitrary: fc.constant<Record<string, string>>({}) },
      { weight: 1, arbitrary: fc.stringMatching(/^[\x21-\x7e]{0,300}$/).filter((k) => k.length > 0).map((k) => ({ 'idempotency-key': k })) }
    )
  const raw = fc.oneof(
    { weight: 11, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom('truncated', 'not-json', 'empty', 'text/plain', 'form', 'no-content-type', 'nul-byte') }
  )
  return fc.tuple(bodyArbitrary(route.body as JsonSchema), headers, raw).map(([{ body, mutations }, h, r]) => {
    const json = JSON.stringify(body) ?? 'null'
    const base = { headers: h, mutations, contentType: 'application/json' as string | undefined }
    switch (r) {
      case null: return { ...base, body: json }
      case 'truncated': return { ...base, body: json.slice(0, Math.max(1, Math.floor(json.length / 2))), raw: r }
      case 'not-json': return { ...base, body: `{${json}`, raw: r }
      case 'empty': return { ...base, body: '', raw: r }
      case 'text/plain': return { ...base, body: json, contentType: 'text/plain', raw: r }
      case 'form': return { ...base, body: 'a=1&b=2', contentType: 'application/x-www-form-urlencoded', raw: r }
      case 'no-content-type': return { ...base, body: json, contentType: undefined, raw: r }
      case 'nul-byte': return { ...base, body: json.replace(/.$/, '\u0000}'), raw: r }
    }
    return { ...base, body: json }
  })
}

/** Why an answer breaks the contract, or undefined: no 5xx; every error the standard body with statusCode = HTTP status. */
function contractProblem (url: string, status: number, text: string): string | undefined {
  if (status >= 500) return `HTTP ${status}: ${text.slice(0, 300)}`
  if (status < 400) {
    const ok = successStatus(url)
    return status === ok ? undefined : `unexpected success status ${status}`
  }
  let body: unknown
  try { body = JSON.parse(text) } catch { return `HTTP ${status} with a body that is not JSON: ${text.slice(0, 200)}` }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return `HTTP ${status} with a non-object body`
  const b = body as Record<string, unknown>
  if (b.statusCode !== status) return `statusCode ${String(b.statusCode)} in the body of an HTTP ${status}`
  if (typeof b.code !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(b.code)) return `error code ${JSON.stringify(b.code)} is not a stable code`
  if (typeof b.message !== 'string' || b.message === '') return 'error without a message'
  const extra = Object.keys(b).filter((k) => !ERROR_KEYS.has(k))
  if (extra.length > 0) return `error body has fields beyond { statusCode, code, message, details }: ${extra.join(', ')}`
  return undefined
}

async function send (url: string, req: { body: string, contentType?: string, headers: Record<string, string> }) {
  const res = await fetch(svc.url + target(url), {
    method: 'POST',
    headers: { ...(req.contentType === undefined ? {} : { 'content-type': req.contentType }), ...req.headers },
    body: req.body
  })
  return { status: res.status, text: await res.text() }
}

test('reliability: fuzz — schema-derived and mutated bodies on every POST route: no 5xx, standard error bodies, service healthy after', async (t) => {
  const urls = routes.map((r) => r.url).sort()
  assert.deepEqual(urls, [...JOB_ROUTES, ...WEBHOOK_ROUTES, ...OTHER_ROUTES].sort(), 'every POST route with a body is fuzzed')

  for (const [i, route] of routes.entries()) {
    await t.test(route.url, async (st) => {
      const statuses = new Map<string, number>()
      const mutationsSeen = new Map<string, number>()
      let runs = 0
      await fc.assert(fc.asyncProperty(requestArbitrary(route), async (req) => {
        runs += 1
        const { status, text } = await send(route.url, req)
        const code = status >= 400 ? (() => { try { return JSON.parse(text).code as string } catch { return '?' } })() : ''
        statuses.set(`${status}${code === '' ? '' : ` ${code}`}`, (statuses.get(`${status}${code === '' ? '' : ` ${code}`}`) ?? 0) + 1)
        for (const m of req.raw === undefined ? req.mutations : [`raw:${req.raw}`]) mutationsSeen.set(m, (mutationsSeen.get(m) ?? 0) + 1)
        const problem = contractProblem(route.url, status, text)
        if (problem !== undefined) {
          throw new Error(`${route.url} ${problem}\nmutations: ${req.mutations.join(', ') || 'none'}${req.raw === undefined ? '' : `, raw: ${req.raw}`}\nbody (first 600 chars): ${req.body.slice(0, 600)}`)
        }
      }), { seed: SEED + i, numRuns: RUNS })
      const top = [...statuses].sort((a, b) => b[1] - a[1])
      const accepted = top.filter(([s]) => s.startsWith('2')).reduce((a, [, n]) => a + n, 0)
      st.diagnostic(`${runs} requests; accepted ${accepted}; answers: ${top.slice(0, 12).map(([s, n]) => `${s}=${n}`).join(', ')}${top.length > 12 ? `, … (${top.length} kinds)` : ''}`)
      st.diagnostic(`mutations: ${[...mutationsSeen].map(([m, n]) => `${m}=${n}`).join(', ')}`)
      assert.ok(runs >= RUNS)
      assert.ok(accepted > 0, 'some generated bodies got through validation to the handler')
    })
  }

  // Healthy after: liveness, readiness, every stored job still readable and cancellable, and a
  // fresh job still runs to the end.
  assert.equal((await api(svc.url, 'GET', '/healthz')).status, 200)
  const ready = await api(svc.url, 'GET', '/readyz')
  assert.equal(ready.status, 200, JSON.stringify(ready.body))
  const stored: Array<{ id: string, status: string }> = []
  let cursor: string | null = null
  do {
    const page = await api(svc.url, 'GET', `/v1/jobs?limit=200${cursor === null ? '' : `&cursor=${cursor}`}`)
    assert.equal(page.status, 200, JSON.stringify(page.body).slice(0, 300))
    stored.push(...page.body.items)
    cursor = page.body.nextCursor
  } while (cursor !== null)
  const open = stored.filter((j) => ['queued', 'waiting', 'running'].includes(j.status))
  const cancels = await mapLimit(open, 8, async (j) => (await api(svc.url, 'POST', `/v1/jobs/${j.id}/cancel`)).status)
  assert.ok(cancels.every((s) => s === 200 || s === 202 || s === 409), `cancel answers: ${[...new Set(cancels)].join(', ')}`)
  const job = await api(svc.url, 'POST', '/v1/jobs/data-action', { actionId: SANDBOX_FIXTURES.actions.echo, inputs: { message: 'after the fuzz' }, cacheResults: false })
  assert.equal(job.status, 202)
  const done = await api(svc.url, 'GET', `/v1/jobs/${job.body.id}?waitSeconds=30`)
  assert.equal(done.body.status, 'succeeded', JSON.stringify(done.body))
  const verify = await api(svc.url, 'GET', '/v1/audit/verify')
  assert.equal(verify.body.ok, true, JSON.stringify(verify.body))
  t.diagnostic(`after the fuzz: /healthz 200, /readyz 200, ${stored.length} stored jobs listed, ${open.length} still open cancelled, a fresh data-action job succeeded, audit chain ok (${verify.body.records} records)`)
})

// Bodies the fuzz once broke (500s): each now gets a 4xx standard error (src/routes/body-guard.ts).

const { actions, flows, queues } = SANDBOX_FIXTURES
const BASES: Record<string, Record<string, unknown>> = {
  '/v1/jobs/data-action': { actionId: actions.echo, inputs: { message: 'hi' } },
  '/v1/jobs/custom-code': { actionId: actions.fnGreeting, inputs: { name: 'Ada' } },
  '/v1/jobs/flow-execution': { flowId: flows.completes, variables: [{ name: 'Flow.customerId', value: 'C-1' }] },
  '/v1/jobs/routing-evaluation': { queueIds: [queues.support], interval: { from: '2026-11-01T00:00:00Z', to: '2026-11-08T00:00:00Z' } },
  '/v1/jobs/llm-evaluation': { datasetMatrix: [{ prompt: 'a b', expectedOutput: 'b a' }], engine: { type: 'gateway' } },
  '/v1/webhooks/genesys/flow-events': { eventType: 'flow.node.enter', jobId: '0190a6e2-0000-7000-8000-000000000000' },
  '/v1/webhooks/genesys/llm-evaluations': { evaluationId: 'evaluation-1', status: 'COMPLETED' }
}

/** The string DEEP in a body stands for arrays nested `depth` levels (built as text: too deep for JSON.stringify). */
const DEEP = 'DEEP-NESTING-GOES-HERE'
const withDeep = (body: unknown, depth: number) => JSON.stringify(body).replace(`"${DEEP}"`, '['.repeat(depth) + ']'.repeat(depth))

async function expectNo5xx (cases: Array<[string, string, unknown]>, deep = 0) {
  const broken: string[] = []
  for (const [url, what, body] of cases) {
    const { status, text } = await send(url, { body: withDeep(body, deep), contentType: 'application/json', headers: { 'x-webhook-secret': WEBHOOK_SECRET } })
    const problem = contractProblem(url, status, text)
    if (problem !== undefined) broken.push(`${url} ${what}: ${problem.slice(0, 120)}`)
  }
  assert.deepEqual(broken, [])
}

test('reliability: fuzz — JSON nested 10 000 levels deep is refused with a 4xx, not a 500', async () => {
  const deep = DEEP
  await expectNo5xx([
    ['/v1/jobs/data-action', 'inputs.x', { ...BASES['/v1/jobs/data-action'], inputs: { x: deep } }],
    ['/v1/jobs/custom-code', 'inputs.x', { ...BASES['/v1/jobs/custom-code'], inputs: { x: deep } }],
    ['/v1/jobs/flow-execution', 'variables[0].value', { ...BASES['/v1/jobs/flow-execution'], variables: [{ name: 'x', value: deep }] }],
    ['/v1/jobs/llm-evaluation', 'datasetMatrix[0].metadata', { ...BASES['/v1/jobs/llm-evaluation'], datasetMatrix: [{ prompt: 'a', expectedOutput: 'b', metadata: { x: deep } }] }],
    ['/v1/webhooks/genesys/flow-events', 'an extra field', { ...BASES['/v1/webhooks/genesys/flow-events'], extra: deep }],
    ['/v1/webhooks/genesys/llm-evaluations', 'metrics.x', { ...BASES['/v1/webhooks/genesys/llm-evaluations'], metrics: { x: deep } }]
  ], 10_000)
})

test('reliability: fuzz — a lone UTF-16 surrogate ("\\ud800") in a string is refused with a 4xx or accepted, not a 500', async () => {
  await expectNo5xx([
    ...JOB_ROUTES.map((url): [string, string, unknown] => [url, 'labels.note', { ...BASES[url], labels: { note: 'a\ud800b' } }]),
    ['/v1/jobs/data-action', 'inputs.message', { ...BASES['/v1/jobs/data-action'], inputs: { message: '\udc00' } }],
    ['/v1/webhooks/genesys/flow-events', 'message', { ...BASES['/v1/webhooks/genesys/flow-events'], message: 'x\ud800' }],
    ['/v1/webhooks/genesys/llm-evaluations', 'evaluationId', { ...BASES['/v1/webhooks/genesys/llm-evaluations'], evaluationId: 'e\udbff' }]
  ])
})

test('reliability: fuzz — a NUL character (\\u0000) in a label or webhook id is refused with a 4xx or accepted, not a 500', async () => {
  await expectNo5xx([
    ['/v1/jobs/data-action', 'labels.note', { ...BASES['/v1/jobs/data-action'], labels: { note: 'a\u0000b' } }],
    ['/v1/webhooks/genesys/flow-events', 'eventId', { ...BASES['/v1/webhooks/genesys/flow-events'], eventId: 'e\u0000' }],
    ['/v1/webhooks/genesys/flow-events', 'jobId', { eventType: 'flow.node.enter', jobId: 'j\u0000' }],
    ['/v1/webhooks/genesys/flow-events', 'flowExecutionId', { eventType: 'flow.node.enter', flowExecutionId: 'f\u0000' }],
    ['/v1/webhooks/genesys/llm-evaluations', 'evaluationId', { evaluationId: 'e\u0000', status: 'COMPLETED' }]
  ])
})
