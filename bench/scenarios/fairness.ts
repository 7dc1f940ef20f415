import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { randomBytes } from 'node:crypto'
import { SANDBOX_FIXTURES } from '../../src/sandbox/fixtures.ts'
import type { LogEntry } from '../../src/sandbox/index.ts'
import { makeTempDir, removeTempDir, type NodeChild } from '../lib/process.ts'
import { api, ECHO_ACTION, startBenchSandbox, startService } from '../lib/service.ts'
import { percentile, round } from '../lib/stats.ts'
import type { Scenario, ScenarioResult } from '../lib/types.ts'

/**
 * Genesys's own limit, 300 requests a minute per token, on both sides: the sandbox's one-minute
 * window and the service's pacing. One 5 000-row evaluation running ten rows at once asks for far
 * more (each row is one execute answered in a few milliseconds), so it saturates the budget.
 */
const R = 300
const WINDOW_MS = 60_000
const ROWS = 5000
/** One-call jobs measured in each phase, one submitted every INTERVAL_MS whether or not the last has finished. */
const SMALL_JOBS = 60
const INTERVAL_MS = 500
/**
 * The busy phase starts once the evaluation has run a whole rate window (R rows and some): before
 * that the window still has room the evaluation has not used, and the one-call jobs would find it.
 */
const FILL_ROWS = R + 30
const TARGET = 0.5

const keys = { bulk: `bench-bulk-${randomBytes(18).toString('base64url')}`, small: `bench-small-${randomBytes(18).toString('base64url')}` }
const as = (key: string) => ({ authorization: `Bearer ${key}` })
/** Two teams: the evaluation's and the one-call jobs'. */
const API_KEYS = JSON.stringify([
  { name: 'reporting-svc', key: keys.bulk, team: 'reporting', scopes: ['jobs:read', 'jobs:write'] },
  { name: 'support-bot', key: keys.small, team: 'support', scopes: ['jobs:read', 'jobs:write'] }
])

interface Phase {
  /** Each one-call job's time to finish: its record's finishedAt − createdAt, ms. */
  finishMs: number[]
  p50: number
  p95: number
  max: number
  /** Requests the sandbox answered per minute over the phase, and how many of them were 429s. */
  callsPerMinute: number
  responses429: number
}

/** One one-call data-action job: the echo action (its definition cached by a warm-up job), the result cache off. */
async function oneCall (service: NodeChild, i: number, tag: string): Promise<number> {
  const res = await api(service.url, 'POST', '/v1/jobs/data-action', { actionId: ECHO_ACTION, inputs: { message: `${tag}-${i}`, count: i }, cacheResults: false }, as(keys.small))
  if (res.status !== 202) throw new Error(`fairness: submission answered ${res.status}: ${JSON.stringify(res.body)}`)
  for (;;) {
    const done = await api(service.url, 'GET', `/v1/jobs/${res.body.id}?waitSeconds=30`, undefined, as(keys.small))
    if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(done.body.status)) {
      if (done.body.status !== 'succeeded') throw new Error(`fairness: job ${res.body.id} ended ${done.body.status}: ${JSON.stringify(done.body.error)}`)
      return Date.parse(done.body.finishedAt) - Date.parse(done.body.createdAt)
    }
  }
}

/** SMALL_JOBS one-call jobs, one started every INTERVAL_MS, and what the sandbox saw meanwhile. */
async function measure (service: NodeChild, log: () => LogEntry[], tag: string): Promise<Phase> {
  const from = log().length
  const started = Date.now()
  const runs: Array<Promise<number>> = []
  for (let i = 0; i < SMALL_JOBS; i++) {
    runs.push(oneCall(service, i, tag))
    await sleep(Math.max(0, started + (i + 1) * INTERVAL_MS - Date.now()))
  }
  const finishMs = await Promise.all(runs)
  const spanMs = Date.now() - started
  const seen = log().slice(from).filter((e) => e.route.includes('/api/v2/'))
  return {
    finishMs,
    p50: percentile(finishMs, 50),
    p95: percentile(finishMs, 95),
    max: Math.max(...finishMs),
    callsPerMinute: round(seen.filter((e) => e.status >= 200 && e.status < 300).length * 60_000 / spanMs, 1),
    responses429: seen.filter((e) => e.status === 429).length
  }
}

export const fairness: Scenario = {
  name: 'fairness',
  async run (ctx): Promise<ScenarioResult> {
    const { sandbox, env } = await startBenchSandbox({ rateLimit: { limit: R, windowMs: WINDOW_MS } })
    const dir = makeTempDir('fairness')
    let service: NodeChild | undefined
    try {
      service = await startService('service (fairness)', {
        ...env,
        API_KEYS,
        SQLITE_PATH: join(dir, 'orchestrator.db'),
        GENESYS_RATE_LIMIT_PER_MINUTE: String(R)
      })
      const log = () => sandbox.stats().log
      // Warm-up: the action's definition is read once and cached, so each measured job makes one call.
      await oneCall(service, -1, 'warm-up')

      ctx.log(`fairness: ${SMALL_JOBS} one-call data-action jobs (team support), one every ${INTERVAL_MS} ms, nothing else running; Genesys limit ${R}/min`)
      const quiet = await measure(service, log, 'quiet')

      ctx.log(`fairness: a ${ROWS}-row LLM evaluation (team reporting, ten rows at once) fills the budget; measuring once it has run ${FILL_ROWS} rows (a whole rate window)`)
      const bulk = await api(service.url, 'POST', '/v1/jobs/llm-evaluation', {
        datasetMatrix: Array.from({ length: ROWS }, (_, i) => ({ prompt: `bulk prompt ${i}`, expectedOutput: `${i} prompt bulk` })),
        engine: { type: 'data-action', actionId: SANDBOX_FIXTURES.actions.llm, concurrency: 10 }
      }, as(keys.bulk))
      if (bulk.status !== 202) throw new Error(`fairness: the evaluation answered ${bulk.status}: ${JSON.stringify(bulk.body)}`)
      for (;;) {
        const job = (await api(service.url, 'GET', `/v1/jobs/${bulk.body.id}`, undefined, as(keys.bulk))).body
        if ((job.progress?.done ?? 0) >= FILL_ROWS) break
        if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(job.status)) throw new Error(`fairness: the evaluation ended ${job.status} before the measurement`)
        await sleep(200)
      }
      ctx.log(`fairness: the same ${SMALL_JOBS} one-call jobs while it runs`)
      const busy = await measure(service, log, 'busy')
      const evaluation = (await api(service.url, 'GET', `/v1/jobs/${bulk.body.id}`, undefined, as(keys.bulk))).body
      await api(service.url, 'POST', `/v1/jobs/${bulk.body.id}/cancel`, undefined, as(keys.bulk))

      const ratio = round(quiet.p95 / busy.p95, 3)
      const met = ratio >= TARGET && busy.responses429 === 0
      const notes = [
        `time to finish = the job record's finishedAt − createdAt; ${SMALL_JOBS} one-call data-action jobs per phase (team support), one started every ${INTERVAL_MS} ms; the evaluation is team reporting's, ${ROWS} rows, ten at once, and had ${evaluation.progress?.done ?? '?'} rows done when the busy phase ended`,
        `the evaluation saturates the budget: ${busy.callsPerMinute} calls/min answered during the busy phase against R = ${R} (${quiet.callsPerMinute}/min in the quiet phase), ${busy.responses429} 429s`,
        `the busy phase starts once the evaluation has run ${FILL_ROWS} rows, a whole ${WINDOW_MS / 1000} s rate window, so the window is full of its requests; the pacer keeps one send of the window spare for a team that had nothing waiting (a one-call job's request), so it goes at once instead of waiting up to 60 000 ÷ R = ${WINDOW_MS / R} ms for the next slot, and teams take turns at the queue, so it never waits behind the evaluation's queued requests (in one first-come queue it waited behind all of them, about ten: a p95 of seconds)`
      ]
      if (!met) notes.push(`missed: quiet p95 ${quiet.p95} ms against busy p95 ${busy.p95} ms (ratio ${ratio}, target ≥ ${TARGET})${busy.responses429 > 0 ? `; ${busy.responses429} 429s` : ''}`)
      return {
        ours: `p95 ${quiet.p95} ms quiet, ${busy.p95} ms beside the evaluation`,
        reference: `p95 with nothing else running (${quiet.p95} ms)`,
        ratio,
        target: `≥ ${TARGET}, 0 429s`,
        met,
        figures: {
          R,
          rows: ROWS,
          smallJobs: SMALL_JOBS,
          intervalMs: INTERVAL_MS,
          quiet: { ...quiet, finishMs: undefined },
          busy: { ...busy, finishMs: undefined },
          quietFinishMs: quiet.finishMs,
          busyFinishMs: busy.finishMs,
          evaluationRowsDone: evaluation.progress?.done ?? null
        },
        notes
      }
    } finally {
      await service?.stop()
      await sandbox.close()
      removeTempDir(dir)
    }
  }
}
