import { randomBytes } from 'node:crypto'
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.ts'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import { spawnNode, type NodeChild } from './process.ts'

/** The sandbox's echo data action: `{ message: string, count?: integer }` in, `{ echo }` out. */
export const ECHO_ACTION = SANDBOX_FIXTURES.actions.echo

export const API_KEY = `bench-${randomBytes(18).toString('base64url')}`
export const WEBHOOK_SECRET = `bench-webhook-${randomBytes(18).toString('base64url')}`
const CALLBACK_SIGNING_SECRET = `whsec_${randomBytes(32).toString('base64')}`
export const GENESYS_CLIENT = { id: 'bench-client', secret: `bench-${randomBytes(18).toString('base64url')}` }

export const authHeaders = { authorization: `Bearer ${API_KEY}` }

/**
 * What every measured service runs with: production mode (API keys, webhook secret and callback
 * signing secret are then required, as in a real deployment), a quiet logger, the per-caller
 * request limit lifted so the load generator is not throttled, and Genesys pointed at a dead
 * loopback port unless the scenario starts a sandbox (an api-only replica never calls it).
 */
export function serviceEnv (extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    API_KEYS: JSON.stringify([{ name: 'bench', key: API_KEY, scopes: ['jobs:read', 'jobs:write', 'audit:read', 'metrics:read'] }]),
    WEBHOOK_SECRET,
    CALLBACK_SIGNING_SECRET,
    RATE_LIMIT_PER_MINUTE: '1000000',
    SHUTDOWN_GRACE_MS: '2000',
    GENESYS_CLIENT_ID: GENESYS_CLIENT.id,
    GENESYS_CLIENT_SECRET: GENESYS_CLIENT.secret,
    GENESYS_API_URL: 'http://127.0.0.1:9',
    GENESYS_LOGIN_URL: 'http://127.0.0.1:9',
    ...extra
  }
}

/** The real server entry (`src/server.ts`, or the test fixture with its extra kinds) as a child process. */
export async function startService (name: string, env: Record<string, string>, entry = 'src/server.ts'): Promise<NodeChild> {
  return await spawnNode(name, entry, serviceEnv(env))
}

/** A sandbox in the bench process and the environment that points a service at it. */
export async function startBenchSandbox (options: SandboxOptions): Promise<{ sandbox: Sandbox, env: Record<string, string> }> {
  const sandbox = await startSandbox({ clientId: GENESYS_CLIENT.id, clientSecret: GENESYS_CLIENT.secret, ...options })
  return {
    sandbox,
    env: { GENESYS_API_URL: sandbox.url, GENESYS_LOGIN_URL: sandbox.url }
  }
}

export async function api (base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = authHeaders): Promise<{ status: number, body: any }> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  let json: unknown
  try { json = JSON.parse(text) } catch { json = text }
  return { status: res.status, body: json }
}

/** A data-action submission body; `inputs` distinct per job when the scenario needs them to be. */
export function dataActionBody (inputs: Record<string, unknown>, cacheResults = false): Record<string, unknown> {
  return { actionId: ECHO_ACTION, inputs, cacheResults }
}

/** Runs `work` over `items` with at most `concurrency` at once. */
export async function pool<T, R> (items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const lane = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await work(items[index]!, index)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane))
  return results
}
