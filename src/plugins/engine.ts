import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createEngine } from '../jobs/engine.ts'
import { createNotifier } from '../jobs/notifier.ts'
import { createJobService, type JobService } from '../jobs/service.ts'
import type { FinishedJob } from '../jobs/finish.ts'
import type { KindsFactory } from '../jobs/kinds/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The job use cases: submit, cancel, read, wait; what the routes call. */
    jobs: JobService
  }
}

export interface EnginePluginOptions {
  kinds: KindsFactory
  /** Off for tools that only need the routes, such as the OpenAPI generator. */
  startWorkers: boolean
}

/** PUBLIC_BASE_URL, or the address this server listens on. */
function publicBaseUrl (app: FastifyInstance): string {
  if (app.config.PUBLIC_BASE_URL !== undefined) return app.config.PUBLIC_BASE_URL.replace(/\/+$/, '')
  const address = app.server.address()
  if (address === null || typeof address === 'string') return `http://127.0.0.1:${app.config.PORT}`
  const host = address.family === 'IPv6' ? `[${address.address === '::' ? '::1' : address.address}]` : (address.address === '0.0.0.0' ? '127.0.0.1' : address.address)
  return `http://${host}:${address.port}`
}

export default fp<EnginePluginOptions>(async (app, opts) => {
  const kinds = new Map(opts.kinds({ genesys: app.genesys, now: app.clock.now, publicBaseUrl: () => publicBaseUrl(app) }).map((k) => [k.name, k]))
  const notifier = createNotifier()
  /** A job ended: its callback may be due, and the metrics count it. */
  const finished = ({ kind, status, durationMs, cacheHit }: FinishedJob) => {
    app.callbacks.wake()
    app.telemetry.jobsFinished.inc({ kind, outcome: status })
    app.telemetry.jobDuration.observe({ kind, outcome: status }, durationMs / 1000)
    if (cacheHit === true) app.telemetry.cacheHits.inc({ kind })
  }
  const engine = createEngine({
    store: app.store,
    kinds,
    notifier,
    clock: app.clock,
    onFinished: finished,
    onStep: ({ kind, step, outcome, durationMs }) => app.telemetry.stepDuration.observe({ kind, step, outcome }, durationMs / 1000),
    log: app.log.child({ component: 'engine' }),
    options: {
      concurrency: app.config.WORKER_CONCURRENCY,
      leaseMs: app.config.LEASE_MS,
      pollMs: app.config.WORKER_POLL_MS,
      stepMaxAttempts: app.config.STEP_MAX_ATTEMPTS
    }
  })
  app.decorate('jobs', createJobService({
    store: app.store,
    kinds,
    clock: app.clock,
    notifier,
    engine,
    callbackPolicy: app.callbackPolicy,
    jobMaxDurationMs: app.config.JOB_MAX_DURATION_MS,
    idempotencyTtlMs: app.config.IDEMPOTENCY_TTL_HOURS * 3_600_000,
    log: app.log.child({ component: 'jobs' }),
    onSubmitted: (kind) => app.telemetry.jobsSubmitted.inc({ kind }),
    onFinished: finished
  }))
  if (opts.startWorkers) {
    // Other replicas' submissions wake this one at once instead of at its next poll (PostgreSQL).
    let stopListening = async () => {}
    app.addHook('onReady', async () => {
      stopListening = await app.store.wakeups.listen(() => engine.wake(),
        (err) => app.log.warn({ err }, 'the NOTIFY listener failed; polling every WORKER_POLL_MS instead'))
      engine.start()
      app.log.info({ owner: engine.owner, concurrency: app.config.WORKER_CONCURRENCY, kinds: [...kinds.keys()] }, 'workers started')
    })
    app.addHook('onClose', async () => { await stopListening() })
  }
  app.addHook('preClose', async () => { await engine.stop(app.config.SHUTDOWN_GRACE_MS) })
}, { name: 'engine', dependencies: ['config', 'store', 'genesys', 'metrics', 'callbacks'] })
