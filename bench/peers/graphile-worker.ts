// The durable peer for `submit-pg` and `pickup`: the job queue a Node team would otherwise pick.
// Fastify with the service's own server options and the same TypeBox submission schema for
// data-action jobs (imported from the service, so it validates the same, plus the kind's own
// checks), each submission enqueued with graphile-worker's `addJob` (committed in PostgreSQL
// before the 202), and a graphile-worker task that makes the job's one Genesys call: the data
// action's execute against the sandbox, the same request our job sends first once the action's
// definition is cached. No auth, rate limit, idempotency, timeline or audit: what such a team
// would write first.
//
// Run as a child process: `PORT=… DATABASE_URL=postgres://… node bench/peers/graphile-worker.ts`
// - PEER_WORKER=1 also runs the worker in this process (as our ROLE=all does); without it the
//   process only accepts and enqueues (as our ROLE=api replica does).
// - GENESYS_API_URL, GENESYS_LOGIN_URL, GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET: the sandbox
//   and its client credentials (needed with PEER_WORKER=1).
// - WORKER_CONCURRENCY: concurrentJobs (default 16, our service's default WORKER_CONCURRENCY).
//
// Worker settings, the documented low-latency ones (graphile-worker docs, "Performance" and
// "Configuration"): new jobs wake the worker through LISTEN "jobs:insert" / NOTIFY (always on;
// pollInterval, default 2 000 ms, is only the fallback), localQueue disabled (size -1: the docs
// say a local queue may add latency), completeJobBatchDelay and failJobBatchDelay 0 (the docs
// advise enabling them, "even set to 0 for minimal delay"), prepared statements on (default).
import Fastify from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import pg from 'pg'
import { Logger, makeWorkerUtils, run, type Runner, type Task } from 'graphile-worker'
import { serverOptions } from '../../src/app.ts'
import { submissionBody } from '../../src/routes/jobs.ts'
import { defaultKinds } from '../../src/jobs/kinds/index.ts'
import { DomainError } from '../../src/errors.ts'
import type { Genesys } from '../../src/clients/genesys/index.ts'

const TASK = 'data-action'
const WORKER = process.env.PEER_WORKER === '1'
const CONCURRENT_JOBS = Number(process.env.WORKER_CONCURRENCY ?? 16)
// The service's pool holds 10 (src/store/database.ts); with a worker, graphile-worker's docs ask
// for at least concurrentJobs + 2.
const POOL_SIZE = WORKER ? Math.max(10, CONCURRENT_JOBS + 2) : 10

function required (name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is required`)
  return value
}

// The kinds are only asked for their schema and checks here; nothing calls Genesys through them.
const kinds = defaultKinds({ genesys: {} as Genesys, now: Date.now, publicBaseUrl: () => 'http://127.0.0.1' })
const dataAction = kinds.find((k) => k.name === 'data-action')
if (dataAction === undefined) throw new Error('no data-action kind')

/** Epoch milliseconds with sub-millisecond resolution, comparable with the bench's own clock. */
const now = () => performance.timeOrigin + performance.now()

// Warnings and errors only, as the service runs at LOG_LEVEL=warn.
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`[graphile-worker ${level}] ${message}\n`)
})

const pool = new pg.Pool({ connectionString: required('DATABASE_URL'), max: POOL_SIZE })
// graphile-worker asks for error handlers on the pool and on each client it hands out.
const reportError = (err: Error) => process.stderr.write(`pool: ${err.message}\n`)
pool.on('error', reportError)
pool.on('connect', (client) => { client.on('error', reportError) })
const utils = await makeWorkerUtils({ pgPool: pool, logger })
await utils.migrate()

// ── the task ─────────────────────────────────────────────────────────────────────────────────

interface Done { startedAt: number, calledAt: number, answeredAt: number, status: number }
/** What each job's task did, kept until the bench reads it (GET /v1/jobs/:id/wait). */
const finished = new Map<string, Done>()
const waiters = new Map<string, (done: Done) => void>()

function record (id: string, done: Done): void {
  const waiter = waiters.get(id)
  if (waiter !== undefined) {
    waiters.delete(id)
    waiter(done)
  } else {
    finished.set(id, done)
  }
}

let token: { value: string, refreshAt: number } | undefined
async function accessToken (): Promise<string> {
  if (token !== undefined && Date.now() < token.refreshAt) return token.value
  const credentials = Buffer.from(`${required('GENESYS_CLIENT_ID')}:${required('GENESYS_CLIENT_SECRET')}`).toString('base64')
  const res = await fetch(`${required('GENESYS_LOGIN_URL')}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${credentials}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials'
  })
  const body = await res.json() as { access_token?: string, expires_in?: number }
  if (!res.ok || typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') throw new Error(`token request answered ${res.status}`)
  token = { value: body.access_token, refreshAt: Date.now() + body.expires_in * 1000 / 2 }
  return token.value
}

/** One data action's execute, the way a team would write it: fetch with a cached bearer token. */
const executeDataAction: Task = async (payload, helpers) => {
  const startedAt = now()
  const { actionId, inputs } = payload as { actionId: string, inputs: Record<string, unknown> }
  const bearer = await accessToken()
  const calledAt = now()
  const res = await fetch(`${required('GENESYS_API_URL')}/api/v2/integrations/actions/${encodeURIComponent(actionId)}/execute`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify(inputs)
  })
  await res.arrayBuffer()
  // String(): the service's modules parse int8 as numbers (src/store/database.ts), the route's id is text.
  record(String(helpers.job.id), { startedAt, calledAt, answeredAt: now(), status: res.status })
  // A failed call fails the job (graphile-worker then retries it with backoff).
  if (!res.ok) throw new Error(`execute answered ${res.status}`)
}

let runner: Runner | undefined
if (WORKER) {
  await accessToken()
  runner = await run({
    pgPool: pool,
    logger,
    noHandleSignals: true,
    taskList: { [TASK]: executeDataAction },
    preset: {
      worker: {
        concurrentJobs: CONCURRENT_JOBS,
        pollInterval: 2000,
        localQueue: { size: -1 },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
        preparedStatements: true
      }
    }
  })
}

// ── the HTTP side ────────────────────────────────────────────────────────────────────────────

const app = Fastify(serverOptions(false)).withTypeProvider<TypeBoxTypeProvider>()

app.get('/healthz', async () => ({ status: 'ok', worker: runner !== undefined }))

app.post('/v1/jobs/data-action', { schema: { body: submissionBody(dataAction) } }, async (request, reply) => {
  try {
    await dataAction.validate?.(request.body as never, { caller: 'bench' })
  } catch (err) {
    if (err instanceof DomainError) return await reply.code(400).send({ code: err.code, message: err.message })
    throw err
  }
  const job = await utils.addJob(TASK, request.body)
  return await reply.code(202).send({ id: job.id, kind: 'data-action', status: 'queued' })
})

// Not durable (the bench's way to learn when a job ran and when its task started): answers once
// this process's worker has finished the job's task, or 504 after 30 s.
app.get<{ Params: { id: string } }>('/v1/jobs/:id/wait', async (request, reply) => {
  const { id } = request.params
  const done = finished.get(id)
  if (done !== undefined) {
    finished.delete(id)
    return done
  }
  if (runner === undefined) return await reply.code(409).send({ message: 'no worker runs in this process (PEER_WORKER=1 starts one)' })
  const waited = await new Promise<Done | undefined>((resolve) => {
    const timer = setTimeout(() => { waiters.delete(id); resolve(undefined) }, 30_000)
    waiters.set(id, (d) => { clearTimeout(timer); resolve(d) })
  })
  if (waited === undefined) return await reply.code(504).send({ message: `job ${id} did not run within 30 s` })
  return waited
})

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) })
process.once('SIGTERM', () => {
  void (async () => {
    await app.close()
    await runner?.stop()
    await utils.release()
    await pool.end()
    process.exit(0)
  })()
})
