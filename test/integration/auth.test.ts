import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { loadConfig, ConfigError } from '../../src/config.ts'
import { systemClock } from '../../src/clock.ts'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { api, eventually, startService, type RunningService } from '../helpers/service.ts'
import { checkLogsForSecretsAfterAll, trackSecret } from '../helpers/secrets.ts'

checkLogsForSecretsAfterAll()
const keys = {
  reader: 'reader-key-0123456789abcdef',
  writer: 'writer-key-0123456789abcdef',
  auditor: 'auditor-key-0123456789abcdef',
  scraper: 'scraper-key-0123456789abcdef',
  hashed: 'hashed-key-0123456789abcdef'
}
Object.values(keys).forEach(trackSecret)
const API_KEYS = JSON.stringify([
  { name: 'reader', key: keys.reader, team: 'ops', scopes: ['jobs:read'] },
  { name: 'writer', key: keys.writer, team: 'ops', scopes: ['jobs:write', 'jobs:read'] },
  { name: 'auditor', key: keys.auditor, scopes: ['audit:read'] },
  { name: 'scraper', key: keys.scraper, scopes: ['metrics:read'] },
  { name: 'hashed-writer', keySha256: createHash('sha256').update(keys.hashed).digest('hex'), scopes: ['jobs:write'] }
])

let db: TestDatabase
let svc: RunningService
before(async () => {
  db = await createTestDatabase()
  svc = await startService(undefined, { ...db.env, API_KEYS })
})
after(async () => {
  await svc.close()
  await db.drop()
})

const as = (key?: string): Record<string, string> => (key === undefined ? {} : { authorization: `Bearer ${key}` })
const job = { script: [] }

test('auth: each scope boundary — 401 without a key, 403 with the wrong scope, 2xx with the right one', async () => {
  const submitted = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'wait', ms: 60_000 }] }, as(keys.writer))
  assert.equal(submitted.status, 202)
  const id = submitted.body.id as string
  // The job waits, but a worker may hold it for a moment: its cancel is 200 (at once) or 202 (requested).
  const cases: Array<{ scope: string, method: string, path: string, body?: unknown, right: string, wrong: string, ok: number | number[] }> = [
    { scope: 'jobs:write', method: 'POST', path: '/v1/jobs/test-script', body: job, right: keys.writer, wrong: keys.reader, ok: 202 },
    { scope: 'jobs:write', method: 'POST', path: `/v1/jobs/${id}/cancel`, right: keys.writer, wrong: keys.reader, ok: [200, 202] },
    { scope: 'jobs:read', method: 'GET', path: `/v1/jobs/${id}`, right: keys.reader, wrong: keys.auditor, ok: 200 },
    { scope: 'jobs:read', method: 'GET', path: '/v1/jobs', right: keys.reader, wrong: keys.scraper, ok: 200 },
    { scope: 'jobs:read', method: 'GET', path: `/v1/jobs/${id}/events`, right: keys.reader, wrong: keys.hashed, ok: 200 },
    { scope: 'audit:read', method: 'GET', path: '/v1/audit', right: keys.auditor, wrong: keys.reader, ok: 200 },
    { scope: 'audit:read', method: 'GET', path: '/v1/audit/verify', right: keys.auditor, wrong: keys.writer, ok: 200 },
    { scope: 'audit:read', method: 'GET', path: '/v1/audit/export', right: keys.auditor, wrong: keys.scraper, ok: 200 },
    { scope: 'metrics:read', method: 'GET', path: '/metrics', right: keys.scraper, wrong: keys.auditor, ok: 200 }
  ]
  for (const c of cases) {
    const none = await api(svc.url, c.method, c.path, c.body)
    assert.equal(none.status, 401, `${c.method} ${c.path} without a key`)
    assert.equal(none.body.code, 'UNAUTHENTICATED')
    assert.equal(none.headers.get('www-authenticate'), 'Bearer')
    const wrong = await api(svc.url, c.method, c.path, c.body, as(c.wrong))
    assert.equal(wrong.status, 403, `${c.method} ${c.path} with a key lacking ${c.scope}`)
    assert.equal(wrong.body.code, 'FORBIDDEN')
    assert.match(wrong.body.message, new RegExp(c.scope))
    const right = await api(svc.url, c.method, c.path, c.body, as(c.right))
    assert.ok([c.ok].flat().includes(right.status), `${c.method} ${c.path} with ${c.scope}: ${right.status}`)
  }
  const bogus = await api(svc.url, 'GET', '/v1/jobs', undefined, as('not-a-key-at-all-0000000'))
  assert.equal(bogus.status, 401)
  const malformed = await api(svc.url, 'GET', '/v1/jobs', undefined, { authorization: keys.reader })
  assert.equal(malformed.status, 401, 'the Bearer scheme is required')
  for (const open of ['/healthz', '/readyz', '/docs/json']) assert.equal((await api(svc.url, 'GET', open)).status, 200, `${open} needs no key`)
})

test('auth: a key given only as its sha256 works; jobs remember which key submitted them', async () => {
  const res = await api(svc.url, 'POST', '/v1/jobs/test-script', job, as(keys.hashed))
  assert.equal(res.status, 202)
  assert.equal(res.body.submittedBy, 'hashed-writer')
  // The key has no jobs:read (and its own team): the audit log, organisation-wide, shows the job's end.
  const records = await eventually(async () => {
    const items = (await api(svc.url, 'GET', `/v1/audit?jobId=${res.body.id}`, undefined, as(keys.auditor))).body.items
    return items.length > 0 ? items : undefined
  }, 30_000, 'the job to end')
  assert.equal(records[0].actor, 'hashed-writer')
  assert.equal(res.body.team, 'hashed-writer', 'a key without a team is a team of its own')
})

test('auth: idempotency keys are scoped per caller', async () => {
  const key = `shared-key-${Date.now()}`
  const a = await api(svc.url, 'POST', '/v1/jobs/test-script', job, { ...as(keys.writer), 'idempotency-key': key })
  const b = await api(svc.url, 'POST', '/v1/jobs/test-script', job, { ...as(keys.hashed), 'idempotency-key': key })
  assert.equal(a.status, 202)
  assert.equal(b.status, 202)
  assert.notEqual(a.body.id, b.body.id, "one caller's key never returns another caller's job")
  const again = await api(svc.url, 'POST', '/v1/jobs/test-script', job, { ...as(keys.writer), 'idempotency-key': key })
  assert.equal(again.body.id, a.body.id)
})

test('auth: bad key configuration stops start-up naming the variable; production refuses to run open', () => {
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ API_KEYS: 'not json' }, 'API_KEYS', /not valid JSON/],
    [{ API_KEYS: '[{"name":"x","scopes":["jobs:read"]}]' }, 'API_KEYS', /exactly one of key and keySha256/],
    [{ API_KEYS: '[{"name":"x","key":"short","scopes":["jobs:read"]}]' }, 'API_KEYS', /invalid/],
    [{ API_KEYS: '[{"name":"x","key":"long-enough-key-123456","scopes":["jobs:delete"]}]' }, 'API_KEYS', /invalid/],
    [{ API_KEYS_FILE: '/nonexistent/keys.json' }, 'API_KEYS_FILE', /cannot be read/],
    [{ NODE_ENV: 'production', GENESYS_CLIENT_ID: 'c', GENESYS_CLIENT_SECRET: 's', GENESYS_REGION: 'mypurecloud.com', WEBHOOK_SECRET: 'x'.repeat(16), CALLBACK_SIGNING_SECRET: `whsec_${'A'.repeat(44)}` }, 'API_KEYS', /production does not run open/]
  ]
  for (const [env, variable, message] of cases) {
    assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && err.variable === variable && message.test(err.message), JSON.stringify(env))
  }
})

test('auth: each caller is rate limited with 429, Retry-After and the standard error body', async (t) => {
  const local = await startService(t, { ...db.env, API_KEYS, RATE_LIMIT_PER_MINUTE: '3' })
  for (let i = 0; i < 3; i++) assert.equal((await api(local.url, 'GET', '/v1/jobs', undefined, as(keys.reader))).status, 200)
  const limited = await api(local.url, 'GET', '/v1/jobs', undefined, as(keys.reader))
  assert.equal(limited.status, 429)
  assert.equal(limited.body.code, 'RATE_LIMITED')
  assert.equal(limited.body.statusCode, 429)
  assert.ok(Number(limited.headers.get('retry-after')) > 0)
  assert.equal((await api(local.url, 'GET', '/v1/jobs', undefined, as(keys.writer))).status, 200, 'another key has its own budget')
  assert.equal((await api(local.url, 'GET', '/healthz')).status, 200, 'health checks are not limited')
})

test('auth: 100 wrong keys from one address end in 429 with Retry-After, for API keys and webhook secrets alike; the block lifts after the minute', async (t) => {
  let clock = Date.now()
  const guarded = await startService(t, { ...db.env, API_KEYS, AUTH_FAILURES_PER_MINUTE: '30', WEBHOOK_SECRET: 'webhook-secret-for-auth-test-0123' }, { clock: { ...systemClock, now: () => clock } })
  const answers = []
  for (let i = 0; i < 100; i++) answers.push(await api(guarded.url, 'GET', '/v1/jobs', undefined, as(`wrong-key-${i}-0123456789`)))
  assert.deepEqual(answers.slice(0, 30).map((a) => a.status), Array(30).fill(401))
  assert.deepEqual(answers.slice(30).map((a) => a.status), Array(70).fill(429))
  const last = answers.at(-1)!
  assert.equal(last.body.code, 'TOO_MANY_FAILED_AUTHENTICATIONS')
  assert.ok(Number(last.headers.get('retry-after')) > 0 && Number(last.headers.get('retry-after')) <= 60)
  const blocked = await api(guarded.url, 'GET', '/v1/jobs', undefined, as(keys.reader))
  assert.equal(blocked.status, 429, 'a blocked address is refused before any key is compared')
  const webhook = await api(guarded.url, 'POST', '/v1/webhooks/genesys/flow-events', { eventType: 'flow.node.enter', jobId: 'x' }, { 'x-webhook-secret': 'webhook-secret-for-auth-test-0123' })
  assert.equal(webhook.status, 429, 'the receivers share the block')

  clock += 60_000
  assert.equal((await api(guarded.url, 'GET', '/v1/jobs', undefined, as(keys.reader))).status, 200, 'after the minute the address may try again')
  const secrets = []
  for (let i = 0; i < 40; i++) secrets.push((await api(guarded.url, 'POST', '/v1/webhooks/genesys/flow-events', { eventType: 'flow.node.enter', jobId: 'x' }, { 'x-webhook-secret': `wrong-secret-${i}-0123456789` })).status)
  assert.deepEqual(secrets.slice(0, 30), Array(30).fill(401))
  assert.deepEqual(secrets.slice(30), Array(10).fill(429), 'wrong webhook secrets count the same way')
})
