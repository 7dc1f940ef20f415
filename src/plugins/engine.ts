import fp from 'fastify-plugin'
import pg from 'pg'
import { sql } from 'kysely'
import type { FastifyInstance } from 'fastify'
import { createEngine, type Engine } from '../jobs/engine.ts'
import { createNotifier, type Notifier } from '../jobs/notifier.ts'
import type { JobKind } from '../jobs/kind.ts'
import type { KindsFactory } from '../jobs/kinds/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Wakes a worker for new or newly due work: this process's at once, other replicas' through PostgreSQL NOTIFY. */
    wakeWorkers: () => void
    engine: Engine
    notifier: Notifier
    kinds: ReadonlyMap<string, JobKind>
  }
}

export interface EnginePluginOptions {
  kinds: KindsFactory
  /** Off for tools that only need the routes, such as the OpenAPI generator. */
  startWorkers: boolean
}

/** PUBLIC_BASE_URL, or the address this server listens on. */
export function publicBaseUrl (app: FastifyInstance): string {
  if (app.config.PUBLIC_BASE_URL !== undefined) return app.config.PUBLIC_BASE_URL.replace(/\/+$/, '')
  const address = app.server.address()
  if (address === null || typeof address === 'string') return `http://127.0.0.1:${app.config.PORT}`
  const host = address.family === 'IPv6' ? `[${address.address === '::' ? '::1' : address.address}]` : (address.address === '0.0.0.0' ? '127.0.0.1' : address.address)
  return `http://${host}:${address.port}`
}

/** Counts a finished job, its duration and whether a cache answered it. */
export function jobFinishedMetrics (app: FastifyInstance) {
  return ({ kind, status, durationMs, result }: { kind: string, status: string, durationMs: number, result: unknown }) => {
    app.callbacks.wake()
    app.telemetry.jobsFinished.inc({ kind, outcome: status })
    app.telemetry.jobDuration.observe({ kind, outcome: status }, durationMs / 1000)
    if ((result as { cacheHit?: unknown } | undefined)?.cacheHit === true) app.telemetry.cacheHits.inc({ kind })
  }
}

export default fp<EnginePluginOptions>(async (app, opts) => {
  const kinds = new Map(opts.kinds({ genesys: app.genesys, now: app.now, publicBaseUrl: () => publicBaseUrl(app) }).map((k) => [k.name, k]))
  const notifier = createNotifier()
  const engine = createEngine({
    db: app.store.db,
    ...app.repos,
    kinds,
    notifier,
    onFinished: jobFinishedMetrics(app),
    onStep: ({ kind, step, outcome, durationMs }) => app.telemetry.stepDuration.observe({ kind, step, outcome }, durationMs / 1000),
    log: app.log.child({ component: 'engine' }),
    now: app.now,
    options: {
      concurrency: app.config.WORKER_CONCURRENCY,
      leaseMs: app.config.LEASE_MS,
      pollMs: app.config.WORKER_POLL_MS,
      stepMaxAttempts: app.config.STEP_MAX_ATTEMPTS
    }
  })
  const channel = 'orchestrator_jobs'
  const shared = app.store.dialect === 'postgres'
  app.decorate('wakeWorkers', () => {
    engine.wake()
    if (shared) sql`select pg_notify(${channel}, '')`.execute(app.store.db).catch((err) => app.log.warn({ err }, 'could not notify other replicas'))
  })
  app.decorate('kinds', kinds)
  app.decorate('notifier', notifier)
  app.decorate('engine', engine)
  if (opts.startWorkers && shared && app.config.DATABASE_URL !== undefined) {
    // Other replicas' submissions wake this one at once instead of at its next poll.
    const listener = new pg.Client({ connectionString: app.config.DATABASE_URL })
    listener.on('notification', () => engine.wake())
    listener.on('error', (err) => app.log.warn({ err }, 'the NOTIFY listener failed; polling every WORKER_POLL_MS instead'))
    app.addHook('onReady', async () => {
      await listener.connect()
      await listener.query(`LISTEN ${channel}`)
    })
    app.addHook('onClose', async () => { await listener.end().catch(() => {}) })
  }
  if (opts.startWorkers) {
    app.addHook('onReady', async () => {
      engine.start()
      app.log.info({ owner: engine.owner, concurrency: app.config.WORKER_CONCURRENCY, kinds: [...kinds.keys()] }, 'workers started')
    })
  }
  app.addHook('preClose', async () => { await engine.stop(app.config.SHUTDOWN_GRACE_MS) })
}, { name: 'engine', dependencies: ['config', 'store', 'genesys', 'metrics', 'callbacks'] })
