import fp from 'fastify-plugin'
import { createEngine, type Engine } from '../jobs/engine.ts'
import { createNotifier, type Notifier } from '../jobs/notifier.ts'
import type { JobKind } from '../jobs/kind.ts'
import type { KindsFactory } from '../jobs/kinds/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
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

export default fp<EnginePluginOptions>(async (app, opts) => {
  const kinds = new Map(opts.kinds({ genesys: app.genesys, now: app.now }).map((k) => [k.name, k]))
  const notifier = createNotifier()
  const engine = createEngine({
    db: app.store.db,
    ...app.repos,
    kinds,
    notifier,
    log: app.log.child({ component: 'engine' }),
    now: app.now,
    options: {
      concurrency: app.config.WORKER_CONCURRENCY,
      leaseMs: app.config.LEASE_MS,
      pollMs: app.config.WORKER_POLL_MS,
      stepMaxAttempts: app.config.STEP_MAX_ATTEMPTS
    }
  })
  app.decorate('kinds', kinds)
  app.decorate('notifier', notifier)
  app.decorate('engine', engine)
  if (opts.startWorkers) {
    app.addHook('onReady', async () => {
      engine.start()
      app.log.info({ owner: engine.owner, concurrency: app.config.WORKER_CONCURRENCY, kinds: [...kinds.keys()] }, 'workers started')
    })
  }
  app.addHook('preClose', async () => { await engine.stop(app.config.SHUTDOWN_GRACE_MS) })
}, { name: 'engine', dependencies: ['config', 'store', 'genesys'] })
