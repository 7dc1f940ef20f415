import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts'
import { api, eventually, startService, type RunningService } from '../helpers/service.ts'
import { startCallbackReceiver } from '../helpers/callback-receiver.ts'
import { isPublicAddress, screeningLookup } from '../../src/callbacks/target.ts'

let db: TestDatabase
let counter: Awaited<ReturnType<typeof startCallbackReceiver>>
let strict: RunningService
let httpAllowed: RunningService

before(async () => {
  db = await createTestDatabase()
  counter = await startCallbackReceiver()
  // The default policy: https only, public addresses only. API only, so that the callbacks below
  // are delivered by the second service alone, whose policy allows plain http.
  strict = await startService(undefined, { ...db.env, WORKER_POLL_MS: '50', ROLE: 'api' })
  // Plain http allowed, so refusals below come from the address alone.
  httpAllowed = await startService(undefined, { ...db.env, CALLBACK_ALLOW_HTTP: 'true', WORKER_POLL_MS: '50' })
})
after(async () => {
  await strict.close()
  await httpAllowed.close()
  await counter.close()
  await db.drop()
})

/** IPv6 forms that embed loopback or private IPv4 addresses: each is judged by what it embeds. */
const EMBEDDED = [
  '::7f00:1', // IPv4-compatible 127.0.0.1
  '::127.0.0.1', // the same, written dotted
  '::a00:1', // IPv4-compatible 10.0.0.1
  '::ffff:0:7f00:1', // IPv4-translated 127.0.0.1
  '64:ff9b::7f00:1', // NAT64 127.0.0.1
  '64:ff9b::a9fe:a9fe', // NAT64 169.254.169.254
  '2002:7f00:1::1', // 6to4 127.0.0.1
  '2002:c0a8:101::1', // 6to4 192.168.1.1
  '2001:0:4136:e378:8000:63bf:80ff:fffe' // Teredo, client 127.0.0.1
]

const targets = (scheme: string) => [
  `${scheme}://127.0.0.1:${counter.port}/hook`,
  `${scheme}://[::1]:${counter.port}/hook`,
  `${scheme}://169.254.169.254/latest/meta-data`,
  `${scheme}://10.0.0.1/hook`,
  `${scheme}://172.16.0.1/hook`,
  `${scheme}://192.168.1.1/hook`,
  `${scheme}://0.0.0.0:${counter.port}/hook`,
  `${scheme}://localhost:${counter.port}/hook`,
  `${scheme}://2130706433:${counter.port}/hook`,
  `${scheme}://[::ffff:127.0.0.1]:${counter.port}/hook`,
  ...EMBEDDED.map((address) => `${scheme}://[${address}]:${counter.port}/hook`)
]

test('ssrf: loopback, private, link-local, unspecified and names resolving to loopback are refused by default, and never dialled', async () => {
  for (const [svc, scheme] of [[strict, 'https'], [httpAllowed, 'http']] as const) {
    for (const callbackUrl of targets(scheme)) {
      const res = await api(svc.url, 'POST', '/v1/jobs/test-script', { script: [], callbackUrl })
      assert.equal(res.status, 400, callbackUrl)
      assert.equal(res.body.code, 'CALLBACK_URL_REFUSED')
      assert.match(res.body.message, /not a public address/, callbackUrl)
    }
  }
  for (const callbackUrl of ['http://example.com/hook', 'ftp://example.com/hook', 'https://user:pw@example.com/hook', 'file:///etc/passwd']) {
    const res = await api(strict.url, 'POST', '/v1/jobs/test-script', { script: [], callbackUrl })
    assert.equal(res.status, 400, callbackUrl)
    assert.equal(res.body.code === 'CALLBACK_URL_REFUSED' || res.body.code === 'VALIDATION_ERROR', true)
  }
  assert.equal(counter.received.length, 0, 'the loopback counter server recorded no hit')
})

test('ssrf: at delivery the address is checked again (a name that later resolves inward is refused, never dialled)', async () => {
  // A message whose URL passed the check at submission but now points inward, as after DNS rebinding.
  const submitted = await api(httpAllowed.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'wait', ms: 60_000 }] })
  const id = submitted.body.id as string
  await httpAllowed.app.store.outbox.enqueue({ jobId: id, eventType: 'job.succeeded', url: `http://127.0.0.1:${counter.port}/rebound`, payload: { type: 'job.succeeded' } }, Date.now())
  httpAllowed.app.callbacks.wake()
  const outbox = await eventually(async () => {
    const rows = await httpAllowed.app.store.outbox.forJob(id)
    return rows[0]?.status === 'failed' ? rows : undefined
  }, 10_000, 'the delivery to be refused')
  assert.match(outbox[0]!.lastError ?? '', /not a public address/)
  const events = (await api(httpAllowed.url, 'GET', `/v1/jobs/${id}/events`)).body.events.filter((e: { type: string }) => e.type === 'callback')
  assert.equal(events[0].data.outcome, 'refused')
  assert.equal(counter.received.length, 0)
})

test('ssrf: the embedded-IPv4 forms are refused at submission and at delivery', async () => {
  for (const address of EMBEDDED) {
    assert.equal(isPublicAddress(address), false, address)
    const res = await api(httpAllowed.url, 'POST', '/v1/jobs/test-script', { script: [], callbackUrl: `http://[${address}]:${counter.port}/hook` })
    assert.equal(res.status, 400, address)
    assert.equal(res.body.code, 'CALLBACK_URL_REFUSED')
  }
  // At delivery: messages whose URLs (as if they had passed at submission) embed loopback.
  const submitted = await api(httpAllowed.url, 'POST', '/v1/jobs/test-script', { script: [{ op: 'wait', ms: 60_000 }] })
  const id = submitted.body.id as string
  await httpAllowed.app.store.transaction(async (tx) => {
    for (const address of EMBEDDED) {
      await tx.outbox.enqueue({ jobId: id, eventType: 'job.succeeded', url: `http://[${address}]:${counter.port}/embedded`, payload: { type: 'job.succeeded' } }, Date.now())
    }
  })
  httpAllowed.app.callbacks.wake()
  const outbox = await eventually(async () => {
    const rows = await httpAllowed.app.store.outbox.forJob(id)
    return rows.length === EMBEDDED.length && rows.every((r) => r.status === 'failed') ? rows : undefined
  }, 10_000, 'every embedded-address delivery to be refused')
  for (const row of outbox) assert.match(row.lastError ?? '', /not a public address/)
  assert.equal(counter.received.length, 0, 'nothing was dialled')
})

test('ssrf: at dial time a name is screened by the same judge (a name rebinding to an embedded loopback is refused)', async () => {
  const fake = (addresses: Array<{ address: string, family: number }>) => (_host: string, _options: unknown, cb: (err: null, a: typeof addresses) => void) => cb(null, addresses)
  const dial = (addresses: Array<{ address: string, family: number }>) => new Promise<{ err: Error | null, address: unknown }>((resolve) => {
    screeningLookup(fake(addresses) as never)('hook.example', { all: false }, (err, address) => resolve({ err, address }))
  })
  for (const address of ['127.0.0.1', '::7f00:1', '2002:7f00:1::1', '10.0.0.5']) {
    const { err } = await dial([{ address: '93.184.216.34', family: 4 }, { address, family: address.includes(':') ? 6 : 4 }])
    assert.match(err?.message ?? '', /not a public address/, address)
  }
  const ok = await dial([{ address: '93.184.216.34', family: 4 }])
  assert.equal(ok.err, null)
  assert.equal(ok.address, '93.184.216.34')
})

test('ssrf: address classification', () => {
  for (const blocked of ['127.0.0.1', '::1', '169.254.169.254', '10.1.2.3', '172.31.255.255', '192.168.0.1', '0.0.0.0', '::', '100.64.0.1', 'fc00::1', 'fe80::1', '::ffff:10.0.0.1', '224.0.0.1', '255.255.255.255']) {
    assert.equal(isPublicAddress(blocked), false, blocked)
  }
  for (const allowed of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '::808:808', '2002:808:808::1', '64:ff9b::808:808']) assert.equal(isPublicAddress(allowed), true, allowed)
  assert.equal(isPublicAddress('64:ff9b:1::808:808'), false, 'NAT64 local-use prefix')
})
