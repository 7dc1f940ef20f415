import fp from 'fastify-plugin'
import { ConfigError } from '../config.ts'
import { openStore, type Store } from '../store/database.ts'
import { StorageOpenFailed } from '../store/storage-errors.ts'

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
  }
}

export default fp(async (app) => {
  const { DATABASE_URL, SQLITE_PATH } = app.config
  let store: Store
  try {
    store = await openStore({
      databaseUrl: DATABASE_URL,
      sqlitePath: SQLITE_PATH,
      clock: app.clock,
      onConnectionError: (err) => app.log.warn({ err }, 'an idle database connection failed; it will be replaced')
    })
  } catch (err) {
    // A database that cannot be opened is a configuration error: one line naming the variable.
    if (!(err instanceof StorageOpenFailed)) throw err
    const [variable, shown, verb] = DATABASE_URL === undefined
      ? ['SQLITE_PATH', SQLITE_PATH, 'opened']
      : ['DATABASE_URL', withoutPassword(DATABASE_URL), 'used']
    throw new ConfigError(variable, `${variable}=${shown} cannot be ${verb}: ${err.message} (${err.underlying}). ${err.remedy}`)
  }
  app.log.info({ database: store.location }, 'database ready')
  // Once per episode, not per failed request: the first fault and the first write after it.
  store.availability.subscribe({
    unavailable: ({ error }) => app.log.error({ condition: error.condition, cause: error.underlying, remedy: error.remedy },
      `${error.message}: requests that write answer 503 STORAGE_UNAVAILABLE and /readyz reports not ready until a write succeeds again`),
    available: ({ condition, underlying, downMs, failures }) => app.log.info({ condition, cause: underlying, downMs, failures },
      'storage available again: writes succeed')
  })
  app.decorate('store', store)
  // The engine stops in preClose, which runs before every onClose: leases are released first.
  app.addHook('onClose', async () => { await store.close() })
}, { name: 'store', dependencies: ['config'] })

/** DATABASE_URL as an error may show it: no password, no parameters (they may hold one). */
function withoutPassword (url: string): string {
  try {
    const { protocol, username, host, pathname } = new URL(url)
    return `${protocol}//${username === '' ? '' : `${username}@`}${host}${pathname}`
  } catch {
    return '(value hidden)'
  }
}
