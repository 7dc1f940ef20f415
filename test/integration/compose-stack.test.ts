// docker-compose.yml without Docker: its sandbox and its two replicas, started as child processes
// with exactly the environment the file gives them (host names mapped to loopback ports, the
// database to the CI PostgreSQL), must work together: both ready, a job submitted to one finished
// by the pair, workflow events from the sandbox accepted with the file's shared secret.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { createTestDatabase } from '../helpers/database.ts'
import { api, freePort, spawnService, waitForTerminal, type ChildService } from '../helpers/service.ts'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'

interface ComposeService { environment: Record<string, string>, command?: string[] }
interface ComposeFile { services: Record<string, ComposeService> }

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as ComposeFile

/** The compose file's `http://<service>:<port>` addresses, as this test's loopback ports. */
function mapHosts (value: string, ports: Record<string, string>): string {
  return value.replace(/http:\/\/([a-z-]+):\d+/g, (whole, host: string) => ports[host] ?? whole)
}

test('docker-compose.yml: the sandbox and two replicas, configured as the file says, run jobs together on one PostgreSQL', async (t) => {
  if (process.env.TEST_DATABASE_URL === undefined || process.env.TEST_DATABASE_URL === '') {
    t.skip('the replicas share a PostgreSQL database: set TEST_DATABASE_URL (CI does)')
    return
  }
  const db = await createTestDatabase()
  t.after(() => db.drop())
  const ports = { 'replica-a': await freePort(), 'replica-b': await freePort() }
  const addresses: Record<string, string> = { 'replica-a': `http://127.0.0.1:${ports['replica-a']}` }

  // The sandbox, as its service runs it, on a free port.
  const sandboxService = compose.services.sandbox!
  const sandboxEnv = Object.fromEntries(Object.entries(sandboxService.environment).map(([k, v]) => [k, mapHosts(String(v), addresses)]))
  const sandbox = spawn(process.execPath, sandboxService.command!.slice(1), {
    env: { ...process.env, ...sandboxEnv, SANDBOX_HOST: '127.0.0.1', SANDBOX_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  t.after(() => { sandbox.kill('SIGTERM') })
  const sandboxUrl = await new Promise<string>((resolve, reject) => {
    let seen = ''
    sandbox.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(seen)
      if (match !== null) resolve(match[1]!)
    })
    sandbox.once('exit', (code) => reject(new Error(`the sandbox exited (${code}): ${seen}`)))
  })
  addresses.sandbox = sandboxUrl

  const replicas: ChildService[] = []
  for (const name of ['replica-a', 'replica-b'] as const) {
    const port = ports[name]
    const env = Object.fromEntries(Object.entries(compose.services[name]!.environment).map(([k, v]) => [k, mapHosts(String(v), addresses)]))
    assert.equal(env.NODE_ENV, 'production')
    // The real entry point, as the image runs it; only the database and the port are ours.
    const replica = await spawnService({ ...env, DATABASE_URL: db.env.DATABASE_URL!, PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}` }, 'src/server.ts')
    t.after(() => replica.kill('SIGTERM'))
    replicas.push(replica)
  }
  const [a, b] = replicas as [ChildService, ChildService]
  assert.equal(a.url, addresses['replica-a'])

  for (const replica of replicas) {
    const ready = await api(replica.url, 'GET', '/readyz')
    assert.equal(ready.status, 200, JSON.stringify(ready.body))
  }

  // The key and the example body of the file's own header comment.
  const apiKey = (JSON.parse(compose.services['replica-a']!.environment.API_KEYS!) as Array<{ key: string }>)[0]!.key
  const auth = { authorization: `Bearer ${apiKey}` }
  const echo = await api(a.url, 'POST', '/v1/jobs/data-action', { actionId: SANDBOX_FIXTURES.actions.echo, inputs: { message: 'hello', count: 2 } }, auth)
  assert.equal(echo.status, 202, JSON.stringify(echo.body))
  const flow = await api(b.url, 'POST', '/v1/jobs/flow-execution', { flowId: SANDBOX_FIXTURES.flows.completes, variables: [{ name: 'Flow.customerId', value: 'C-1001' }], pollIntervalMs: 100 }, auth)
  assert.equal(flow.status, 202, JSON.stringify(flow.body))

  const echoDone = await waitForTerminal(b.url, echo.body.id, 60_000, auth)
  assert.equal(echoDone.status, 'succeeded', JSON.stringify(echoDone.error))
  const flowDone = await waitForTerminal(a.url, flow.body.id, 60_000, auth)
  assert.equal(flowDone.status, 'succeeded', JSON.stringify(flowDone.error))
  // The sandbox posted the workflow's node events to replica-a with the file's shared secret.
  const events = (await api(a.url, 'GET', `/v1/jobs/${flow.body.id}/events?limit=1000`, undefined, auth)).body.events as Array<{ type: string }>
  assert.ok(events.some((e) => e.type === 'node'), `no workflow node event was accepted: ${events.map((e) => e.type).join(', ')}`)
})
