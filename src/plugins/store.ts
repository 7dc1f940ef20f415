import fp from 'fastify-plugin'
import { openStore, type Store } from '../store/database.ts'

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
  }
}

export default fp(async (app) => {
  const store = await openStore({
    databaseUrl: app.config.DATABASE_URL,
    sqlitePath: app.config.SQLITE_PATH,
    onConnectionError: (err) => app.log.warn({ err }, 'an idle database connection failed; it will be replaced')
  })
  app.log.info({ database: store.location }, 'database ready')
  app.decorate('store', store)
  // The engine stops in preClose, which runs before every onClose: leases are released first.
  app.addHook('onClose', async () => { await store.close() })
}, { name: 'store', dependencies: ['config'] })
