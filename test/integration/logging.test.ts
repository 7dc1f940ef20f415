import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestDatabase } from '../helpers/database.ts'
import { api, startService } from '../helpers/service.ts'

test('logging: request ids on every request line, authorization headers and secrets redacted, personal data masked', async (t) => {
  const db = await createTestDatabase()
  const svc = await startService(t, db.env)
  t.after(() => db.drop())
  await api(svc.url, 'GET', '/v1/jobs', undefined, { authorization: 'Bearer super-secret-key-123' })
  svc.app.log.info({ headers: { authorization: 'Bearer super-secret-key-123' }, client: { clientSecret: 'shh-123', access_token: 'tok-456' } }, 'calling out for jane@example.com with card 4111111111111111')

  const lines = svc.logs.map((l) => JSON.parse(l))
  const requestLines = lines.filter((l) => l.req?.url === '/v1/jobs' || l.res !== undefined)
  assert.ok(requestLines.length >= 2)
  assert.ok(requestLines.every((l) => typeof l.reqId === 'string' && l.reqId.length === 36))
  const all = svc.logs.join('\n')
  for (const secret of ['super-secret-key-123', 'shh-123', 'tok-456', 'jane@example.com', '4111111111111111']) {
    assert.ok(!all.includes(secret), `${secret} leaked into the logs`)
  }
  const custom = lines.find((l) => String(l.msg).startsWith('calling out'))
  assert.equal(custom.msg, 'calling out for [EMAIL] with card [CCN]')
  assert.equal(custom.headers.authorization, '[redacted]')
})

test('logging: background work logs carry the job id', async (t) => {
  const db = await createTestDatabase()
  const svc = await startService(t, { ...db.env, STEP_MAX_ATTEMPTS: '1' })
  t.after(() => db.drop())
  const job = (await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'throw', message: 'kaboom' }] })).body
  await api(svc.url, 'GET', `/v1/jobs/${job.id}?waitSeconds=20`)
  const failure = svc.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'step failed')
  assert.equal(failure?.jobId, job.id)
  assert.equal(failure?.kind, 'test-script')
})
