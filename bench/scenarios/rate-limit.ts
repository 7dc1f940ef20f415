import { DatabaseSync } from 'node:sqlite'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { LogEntry, Sandbox } from '../../src/sandbox/index.ts'
import { makeTempDir, removeTempDir } from '../lib/process.ts'
import { runNaiveClient } from '../peers/naive-client.ts'
import { api, dataActionBody, ECHO_ACTION, GENESYS_CLIENT, pool, startBenchSandbox, startService } from '../lib/service.ts'
import { round } from '../lib/stats.ts'
import type { Scenario, ScenarioResult } from '../lib/types.ts'

/**
 * R = 600 Genesys calls per minute per token. The sandbox's window is a real minute, so the
 * allowance it reports (`inin-ratelimit-allowed: 600`) and the service's per-minute pacing
 * (GENESYS_RATE_LIMIT_PER_MINUTE=600) mean the same thing. A shorter sandbox window (say 50 per
 * 5 s) would not: the client reads `inin-ratelimit-allowed` as its per-minute allowance
 * (src/clients/genesys/pacer.ts observe) and would slow to 50 a minute.
 */
const R = 600
const WINDOW_MS = 60_000
const JOBS = 1000
/** Calls in flight at once, for both: the service's GENESYS_CONCURRENCY default and the naive client's lanes. */
const CONCURRENCY = 10

interface CallFigures {
  calls: number
  /** Successful GETs of the action definition. */
  actionGets: number
  succeeded: number
  responses429: number
  share429: number
  /** Successful calls per minute over the run, the run counted as at least one rate window. */
  callsPerMinute: number
  ratio: number
  spanSeconds: number
}

/** What the sandbox saw from one client: every /api/v2 answer, its 429s, and the pace of its successes. */
function figuresOf (log: LogEntry[]): CallFigures {
  const api = log.filter((e) => e.route.includes('/api/v2/'))
  const ok = api.filter((e) => e.status >= 200 && e.status < 300)
  const r429 = api.filter((e) => e.status === 429).length
  const first = api.length === 0 ? 0 : api[0]!.at
  const last = api.length === 0 ? 0 : api[api.length - 1]!.at
  const spanMs = last - first
  const callsPerMinute = ok.length * 60_000 / Math.max(spanMs, WINDOW_MS)
  return {
    calls: api.length,
    actionGets: ok.filter((e) => e.route.startsWith('GET ')).length,
    succeeded: ok.length,
    responses429: r429,
    share429: round(api.length === 0 ? 0 : r429 / api.length, 4),
    callsPerMinute: round(callsPerMinute, 1),
    ratio: round(callsPerMinute / R, 3),
    spanSeconds: round(spanMs / 1000, 1)
  }
}

function jobCounts (dbPath: string): Record<string, number> {
  const db = new DatabaseSync(dbPath, { readOnly: true })
  try {
    const rows = db.prepare('select status, count(*) as n from jobs group by status').all() as Array<{ status: string, n: number }>
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]))
  } finally {
    db.close()
  }
}

async function runOurs (log: (m: string) => void): Promise<{ figures: CallFigures, jobs: Record<string, number>, submitSeconds: number, totalSeconds: number, sandboxRateLimited: number }> {
  const { sandbox, env } = await startBenchSandbox({ rateLimit: { limit: R, windowMs: WINDOW_MS } })
  const dir = makeTempDir('ratelimit')
  const dbPath = join(dir, 'orchestrator.db')
  let service
  try {
    service = await startService('service (rate-limit)', {
      ...env,
      SQLITE_PATH: dbPath,
      GENESYS_RATE_LIMIT_PER_MINUTE: String(R),
      GENESYS_CONCURRENCY: String(CONCURRENCY)
    })
    const started = Date.now()
    log(`rate-limit: submitting ${JOBS} data-action jobs (cacheResults false, distinct inputs); sandbox allows ${R} per ${WINDOW_MS / 1000} s`)
    await pool(Array.from({ length: JOBS }, (_, i) => i), 10, async (i) => {
      const res = await api(service!.url, 'POST', '/v1/jobs/data-action', dataActionBody({ message: `rate-limit-${i}`, count: i }))
      if (res.status !== 202) throw new Error(`submission ${i} answered ${res.status}: ${JSON.stringify(res.body)}`)
    })
    const submitSeconds = (Date.now() - started) / 1000
    const deadline = started + 170_000
    let jobs: Record<string, number> = {}
    let lastReport = 0
    for (;;) {
      jobs = jobCounts(dbPath)
      const open = (jobs.queued ?? 0) + (jobs.running ?? 0) + (jobs.waiting ?? 0)
      if (open === 0) break
      if (Date.now() > deadline) {
        log(`rate-limit: giving up waiting with ${open} jobs still open`)
        break
      }
      if (Date.now() - lastReport > 20_000) {
        lastReport = Date.now()
        log(`rate-limit: ours ${JSON.stringify(jobs)}`)
      }
      await sleep(250)
    }
    const totalSeconds = (Date.now() - started) / 1000
    const stats = sandbox.stats()
    return { figures: figuresOf(stats.log), jobs, submitSeconds: round(submitSeconds, 1), totalSeconds: round(totalSeconds, 1), sandboxRateLimited: stats.rateLimited }
  } finally {
    await service?.stop()
    await sandbox.close()
    removeTempDir(dir)
  }
}

async function runNaive (sandbox: Sandbox) {
  const outcome = await runNaiveClient({
    baseUrl: sandbox.url,
    clientId: GENESYS_CLIENT.id,
    clientSecret: GENESYS_CLIENT.secret,
    actionId: ECHO_ACTION,
    inputs: Array.from({ length: JOBS }, (_, i) => ({ message: `naive-${i}`, count: i })),
    concurrency: CONCURRENCY
  })
  return { outcome, figures: figuresOf(sandbox.stats().log) }
}

export const rateLimit: Scenario = {
  name: 'rate-limit',
  async run (ctx): Promise<ScenarioResult> {
    const ours = await runOurs(ctx.log)
    ctx.log('rate-limit: the design documents\' client (three tries, exponential backoff, no pacing) on its own token and sandbox')
    const { sandbox } = await startBenchSandbox({ rateLimit: { limit: R, windowMs: WINDOW_MS } })
    let naive
    try {
      naive = await runNaive(sandbox)
    } finally {
      await sandbox.close()
    }
    const failedJobs = (ours.jobs.failed ?? 0) + (ours.jobs.timed_out ?? 0) + (ours.jobs.cancelled ?? 0)
    const openJobs = (ours.jobs.queued ?? 0) + (ours.jobs.running ?? 0) + (ours.jobs.waiting ?? 0)
    const met = ours.figures.ratio >= 0.9 && ours.figures.share429 <= 0.01 && failedJobs === 0 && openJobs === 0
    const notes = [
      `R = ${R}/min: sandbox rateLimit { limit: ${R}, windowMs: ${WINDOW_MS} } and GENESYS_RATE_LIMIT_PER_MINUTE=${R} (same window, so no mismatch); calls/min = successful /api/v2 calls (the action GET, cached after the first, plus one execute per job) ÷ max(run span, one 60 s window), from the sandbox's log`,
      `naive peer (${CONCURRENCY} calls in flight, its own token and sandbox): ${naive.outcome.failed} of ${JOBS} calls failed after three tries, ${naive.figures.responses429} 429s (${round(naive.figures.share429 * 100, 1)}% of its answers); its ${naive.figures.callsPerMinute} calls/min (${naive.figures.ratio} R) is not a sustained rate: it spent the first window's budget in a burst and the next window's budget as soon as it opened, ${naive.figures.succeeded} successes in ${naive.figures.spanSeconds} s across two fixed windows, giving up on the calls that fell in between`
    ]
    const extraGets = ours.figures.actionGets
    if (extraGets > 1) {
      notes.push(`ours made ${extraGets} action GETs for one action: on a cold cache every concurrently running job fetches the definition (src/jobs/kinds/action-services.ts action() caches results but does not share an in-flight request), so up to WORKER_CONCURRENCY GETs are spent from the rate budget at start-up`)
    }
    if (!met) {
      if (ours.figures.ratio < 0.9) notes.push(`missed: ours reached ${ours.figures.callsPerMinute} calls/min (${ours.figures.ratio} of R)`)
      if (ours.figures.share429 > 0.01) notes.push(`missed: ${ours.figures.responses429} 429s (${ours.figures.share429})`)
      if (failedJobs > 0 || openJobs > 0) notes.push(`missed: jobs ${JSON.stringify(ours.jobs)}`)
    }
    return {
      ours: `${ours.figures.callsPerMinute}/min, ${round(ours.figures.share429 * 100, 2)}% 429, ${failedJobs} failed`,
      reference: `naive ${naive.figures.callsPerMinute}/min, ${round(naive.figures.share429 * 100, 1)}% 429, ${naive.outcome.failed} failed`,
      ratio: ours.figures.ratio,
      target: '≥ 0.9 R, ≤ 1% 429, no failed job',
      met,
      figures: {
        R,
        windowMs: WINDOW_MS,
        jobs: JOBS,
        share429: ours.figures.share429,
        failedJobs,
        ours: { ...ours.figures, jobs: ours.jobs, submitSeconds: ours.submitSeconds, totalSeconds: ours.totalSeconds },
        peer: {
          ...naive.figures,
          failedCalls: naive.outcome.failed,
          succeededCalls: naive.outcome.succeeded,
          seconds: round((naive.outcome.finishedAt - naive.outcome.startedAt) / 1000, 1)
        }
      },
      notes
    }
  }
}
