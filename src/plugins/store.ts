import fp from 'fastify-plugin'
import { openStore, type Store } from '../store/database.ts'
import { createJobsRepository, type JobsRepository } from '../store/jobs-repository.ts'
import { createEventsRepository, type EventsRepository } from '../store/events-repository.ts'
import { createAuditRepository, type AuditRepository } from '../store/audit-repository.ts'
import { createOutboxRepository, type OutboxRepository } from '../store/outbox-repository.ts'
import { createEffectsRepository, type EffectsRepository } from '../store/effects-repository.ts'

export interface Repositories {
  jobs: JobsRepository
  events: EventsRepository
  audit: AuditRepository
  outbox: OutboxRepository
  effects: EffectsRepository
}

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
    repos: Repositories
  }
}

export default fp(async (app) => {
  const store = await openStore({
    databaseUrl: app.config.DATABASE_URL,
    sqlitePath: app.config.SQLITE_PATH,
    onConnectionError: (err) => app.log.warn({ err }, 'an idle database connection failed; it will be replaced')
  })
  app.log.info({ database: store.dialect, location: store.location }, 'database ready')
  app.decorate('store', store)
  app.decorate('repos', {
    jobs: createJobsRepository(store.db, store.dialect),
    events: createEventsRepository(store.db),
    audit: createAuditRepository(store.db),
    outbox: createOutboxRepository(store.db, store.dialect),
    effects: createEffectsRepository(store.db)
  })
  // The engine stops in preClose, which runs before every onClose: leases are released first.
  app.addHook('onClose', async () => { await store.close() })
}, { name: 'store', dependencies: ['config'] })
