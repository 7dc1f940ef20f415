// Shared by the reliability suites: a seeded mix of jobs of all five kinds against a test
// sandbox, the terminal state a crash-free run gives each, and the sandbox side effects that
// belong to each job.
import { setTimeout as sleep } from 'node:timers/promises'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import type { Progress, Sandbox, SandboxStats } from '../../src/sandbox/index.ts'
import { SANDBOX_CLIENT } from '../helpers/genesys-env.ts'
import { requestToken } from '../sandbox/helpers.ts'

export const TERMINAL = ['succeeded', 'failed', 'cancelled', 'timed_out']

/**
 * Every state in between takes a poll (a flow's nodes one poll each), so the suites' jobs poll,
 * wait and receive webhooks as they would against Genesys, and a kill can fall between any two.
 */
export const RELIABILITY_PROGRESS: Partial<Progress> = {
  analyticsQueuedPolls: 1,
  analyticsPendingPolls: 1,
  flowUnknownPolls: 0,
  flowPollsPerNode: 1,
  evaluationQueuedPolls: 1,
  evaluationRunningPolls: 1
}

/** mulberry32: small, fast and the same on every machine, so a seed replays a run. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

export type Variant =
  | 'echo' | 'slow' | 'failingAction'
  | 'fnGreeting' | 'fnPendingZip'
  | 'flowCompletes' | 'flowFails'
  | 'routing' | 'routingFailing'
  | 'llmRows' | 'llmGateway' | 'llmGatewayFails'

export interface Expected { status: 'succeeded' | 'failed', code?: string }

export interface PlannedJob {
  index: number
  variant: Variant
  kind: string
  body: Record<string, unknown>
  /** What a crash-free, fault-free run ends with, decided from the input alone. */
  expected: Expected
  /** The job sends side effects Genesys takes no key for (execute, launch). */
  sideEffecting: boolean
  /** It set retryUnknownOutcome: a call whose answer was lost is sent again instead of ending the job REMOTE_OUTCOME_UNKNOWN. */
  optedIn: boolean
  /** Unique per job: recognises this job's bodies among the sandbox's recorded executions. */
  tag: string
}

const { actions, flows, queues } = SANDBOX_FIXTURES
const INTERVAL = { from: '2026-11-01T00:00:00.000Z', to: '2026-11-08T00:00:00.000Z' }

interface VariantSpec {
  kind: string
  expected: Expected
  body (tag: string, i: number, rng: () => number, o: PlanOptions): Record<string, unknown>
}

const rows = (tag: string, n: number, extra = '') => Array.from({ length: n }, (_, r) => {
  const prompt = `${tag} row ${r} where is my order${extra}`
  return { prompt, expectedOutput: r % 2 === 0 ? prompt.split(' ').reverse().join(' ') : 'something else' }
})

const SPECS: Record<Variant, VariantSpec> = {
  echo: { kind: 'data-action', expected: { status: 'succeeded' }, body: (tag, i) => ({ actionId: actions.echo, inputs: { message: tag, count: i }, cacheResults: false }) },
  slow: {
    kind: 'data-action',
    expected: { status: 'succeeded' },
    body: (tag, _i, rng, o) => ({ actionId: actions.slow, inputs: { delayMs: o.slowMinMs + Math.floor(rng() * (o.slowMaxMs - o.slowMinMs)), tag }, cacheResults: false })
  },
  failingAction: { kind: 'data-action', expected: { status: 'failed', code: 'ACTION_EXECUTION_FAILED' }, body: (tag) => ({ actionId: actions.failing, inputs: { tag }, cacheResults: false }) },
  fnGreeting: { kind: 'custom-code', expected: { status: 'succeeded' }, body: (tag, i) => ({ actionId: actions.fnGreeting, inputs: { name: tag, amount: i }, cache: false }) },
  fnPendingZip: { kind: 'custom-code', expected: { status: 'failed', code: 'FUNCTION_NOT_AVAILABLE' }, body: (tag) => ({ actionId: actions.fnPendingZip, inputs: { name: tag }, cache: false }) },
  flowCompletes: {
    kind: 'flow-execution',
    expected: { status: 'succeeded' },
    body: (tag, _i, _r, o) => ({ flowId: flows.completes, variables: [{ name: 'Flow.customerId', value: tag }], pollIntervalMs: o.pollMs })
  },
  flowFails: { kind: 'flow-execution', expected: { status: 'failed', code: 'FLOW_FAILED' }, body: (tag, _i, _r, o) => ({ flowId: flows.fails, variables: [{ name: 'tag', value: tag }], pollIntervalMs: o.pollMs }) },
  routing: {
    kind: 'routing-evaluation',
    expected: { status: 'succeeded' },
    body: () => ({ queueIds: [queues.support, queues.sales, queues.billing], interval: INTERVAL, granularity: 'P1D', timeZone: 'Europe/London' })
  },
  routingFailing: {
    kind: 'routing-evaluation',
    expected: { status: 'failed', code: 'ANALYTICS_JOB_FAILED' },
    body: () => ({ queueIds: [queues.support, queues.failing], interval: INTERVAL })
  },
  llmRows: {
    kind: 'llm-evaluation',
    expected: { status: 'succeeded' },
    body: (tag, _i, _r, o) => ({ datasetMatrix: rows(tag, o.llmRows), engine: { type: 'data-action', actionId: actions.llm, concurrency: 2 } })
  },
  llmGateway: {
    kind: 'llm-evaluation',
    expected: { status: 'succeeded' },
    body: (tag, _i, _r, o) => ({ datasetMatrix: rows(tag, 2), engine: { type: 'gateway', pollIntervalMs: o.pollMs } })
  },
  llmGatewayFails: {
    kind: 'llm-evaluation',
    expected: { status: 'failed', code: 'EVALUATION_FAILED' },
    body: (tag, _i, _r, o) => ({ datasetMatrix: rows(tag, 2, ' FAIL_EVALUATION'), engine: { type: 'gateway', pollIntervalMs: o.pollMs } })
  }
}

export interface PlanOptions {
  count: number
  seed: number
  /** Labels every job `suite:<suite>`; also prefixes every tag. */
  suite: string
  /** Relative weights; variants left out are not planned. */
  weights: Partial<Record<Variant, number>>
  slowMinMs: number
  slowMaxMs: number
  pollMs: number
  llmRows: number
  /** Share of side-effecting jobs that set retryUnknownOutcome (drawn from the seed). */
  optInShare: number
}

/** Kinds whose calls Genesys takes no idempotency key for (the gateway's create has ours). */
const SIDE_EFFECTING: readonly Variant[] = ['echo', 'slow', 'failingAction', 'fnGreeting', 'fnPendingZip', 'flowCompletes', 'flowFails', 'llmRows']

/** The same jobs, bodies and expectations for the same options. */
export function planJobs (o: PlanOptions): PlannedJob[] {
  const rng = prng(o.seed)
  const entries = Object.entries(o.weights).filter(([, w]) => (w ?? 0) > 0) as Array<[Variant, number]>
  const total = entries.reduce((s, [, w]) => s + w, 0)
  return Array.from({ length: o.count }, (_, index) => {
    let pick = rng() * total
    const variant = (entries.find(([, w]) => (pick -= w) < 0) ?? entries[entries.length - 1]!)[0]
    const spec = SPECS[variant]
    const tag = `${o.suite}-${o.seed}-${index}`
    const body = spec.body(tag, index, rng, o)
    const sideEffecting = SIDE_EFFECTING.includes(variant)
    const optedIn = sideEffecting && rng() < o.optInShare
    const labels = { ...(body.labels as Record<string, string> | undefined), suite: o.suite, variant }
    return { index, variant, kind: spec.kind, body: { ...body, labels, ...(optedIn ? { retryUnknownOutcome: true } : {}) }, expected: spec.expected, tag, sideEffecting, optedIn }
  })
}

export interface JobView {
  id: string
  kind: string
  status: string
  attempts: number
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  labels: Record<string, string>
  result?: any
  error?: { code: string, message: string, retryable: boolean, details?: any }
}

/** The action whose executions a job causes, and how its bodies are told apart, if it executes one. */
export function executedAction (job: PlannedJob): { actionId: string, mine: (body: any) => boolean } | undefined {
  switch (job.variant) {
    case 'echo': return { actionId: actions.echo, mine: (b) => b?.message === job.tag }
    case 'slow': return { actionId: actions.slow, mine: (b) => b?.tag === job.tag }
    case 'failingAction': return { actionId: actions.failing, mine: (b) => b?.tag === job.tag }
    case 'fnGreeting': return { actionId: actions.fnGreeting, mine: (b) => b?.name === job.tag }
    default: return undefined
  }
}

/** Executions of each of this job's LLM rows (the llm action), by prompt. */
export function rowExecutions (job: PlannedJob, stats: SandboxStats): number[] {
  const bodies = (stats.actionBodies[actions.llm] ?? []) as Array<{ prompt?: string }>
  const prompts = (job.body.datasetMatrix as Array<{ prompt: string }>).map((r) => r.prompt)
  return prompts.map((p) => bodies.filter((b) => b.prompt === p).length)
}

export function flowLaunchesOf (jobId: string, stats: SandboxStats) {
  return stats.flowLaunches
    .filter((l) => (l.body as { inputData?: Record<string, unknown> }).inputData?.['Flow.orchestratorJobId'] === jobId)
    .sort((a, b) => a.at - b.at)
}

export function actionExecutionsOf (job: PlannedJob, stats: SandboxStats): number | undefined {
  const action = executedAction(job)
  if (action === undefined) return undefined
  return ((stats.actionBodies[action.actionId] ?? []) as unknown[]).filter(action.mine).length
}

/** Every evaluation the sandbox's LLM gateway holds, read through its API as a client would. */
export async function listEvaluations (sandbox: Sandbox): Promise<Array<{ id: string, status: string }>> {
  const token = (await requestToken(sandbox.url, SANDBOX_CLIENT.id, SANDBOX_CLIENT.secret)).body.access_token as string
  const all: Array<{ id: string, status: string }> = []
  for (let page = 1; ; page++) {
    const res = await fetch(`${sandbox.url}/api/v2/ai/llm/evaluations?pageSize=100&pageNumber=${page}`, { headers: { authorization: `Bearer ${token}` } })
    if (res.status !== 200) { await sleep(50); page--; continue }
    const body = await res.json() as { entities: Array<{ id: string, status: string }>, pageCount: number }
    all.push(...body.entities)
    if (page >= body.pageCount) return all
  }
}

/** A request that rides out a service that is down or restarting: it retries until `ms` pass. */
export async function resilient (url: () => string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, ms = 60_000) {
  const until = Date.now() + ms
  for (;;) {
    try {
      const res = await fetch(url() + path, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000)
      })
      const text = await res.text()
      let json: any
      try { json = JSON.parse(text) } catch { json = text }
      return { status: res.status, body: json, replayed: res.headers.get('idempotent-replayed') === 'true' }
    } catch (err) {
      if (Date.now() > until) throw err
      await sleep(100)
    }
  }
}

/**
 * A job that ended as an at-most-once job may when a call's answer was lost: REMOTE_OUTCOME_UNKNOWN,
 * or, for an LLM evaluation, ALL_ROWS_FAILED because every row's answer was lost so.
 */
export function endedOutcomeUnknown (job: JobView): boolean {
  if (job.status !== 'failed') return false
  if (job.error?.code === 'REMOTE_OUTCOME_UNKNOWN') return true
  const rowErrors = (job.error?.details as { rowErrors?: Record<string, number> } | undefined)?.rowErrors
  return job.error?.code === 'ALL_ROWS_FAILED' && rowErrors !== undefined && Object.keys(rowErrors).join() === 'REMOTE_OUTCOME_UNKNOWN'
}

/** Every job labelled `suite:<suite>`, newest first, read page by page, with its result. */
export async function listSuiteJobs (url: () => string, suite: string): Promise<JobView[]> {
  const jobs: JobView[] = []
  let cursor: string | null = null
  do {
    const res = await resilient(url, 'GET', `/v1/jobs?label=suite:${suite}&limit=200&include=result${cursor === null ? '' : `&cursor=${cursor}`}`)
    if (res.status !== 200) throw new Error(`listing jobs answered ${res.status}: ${JSON.stringify(res.body)}`)
    jobs.push(...res.body.items)
    cursor = res.body.nextCursor
  } while (cursor !== null)
  return jobs
}

/** Waits until `expected` jobs of the suite exist and none is queued, running or waiting. */
export async function waitForSuite (url: () => string, suite: string, expected: number, ms: number, onProgress?: (open: number) => void): Promise<JobView[]> {
  const until = Date.now() + ms
  let last = -1
  for (;;) {
    const jobs = await listSuiteJobs(url, suite)
    const open = jobs.filter((j) => !TERMINAL.includes(j.status)).length
    if (jobs.length >= expected && open === 0) return jobs
    if (open !== last) { onProgress?.(open); last = open }
    if (Date.now() > until) {
      const stuck = jobs.filter((j) => !TERMINAL.includes(j.status)).slice(0, 5)
      throw new Error(`timed out: ${open} of ${jobs.length} jobs still open, e.g. ${JSON.stringify(stuck)}`)
    }
    await sleep(500)
  }
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function mapLimit<T, R> (items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!, i)
    }
  }))
  return out
}

export const kindCounts = (jobs: readonly PlannedJob[]) =>
  Object.entries(jobs.reduce<Record<string, number>>((m, j) => ({ ...m, [j.variant]: (m[j.variant] ?? 0) + 1 }), {}))
    .map(([k, n]) => `${k}=${n}`).join(' ')
