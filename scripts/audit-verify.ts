// npm run audit:verify -- <archive files or folders>
// Verifies the audit chain end to end without the service: the archive files, then the checkpoint
// and the records in the database the service's environment points at (DATABASE_URL or
// SQLITE_PATH). Exits 0 when every record matches, 1 naming the first that does not, 2 when it
// cannot run.
import { ConfigError, loadConfig } from '../src/config.ts'
import { openStore } from '../src/store/database.ts'
import { verifyOffline } from '../src/audit/offline.ts'

const paths = process.argv.slice(2).filter((a) => a !== '--')
if (paths.includes('--help') || paths.includes('-h')) {
  process.stdout.write('usage: npm run audit:verify -- <archive file or folder>…\n(the database comes from DATABASE_URL or SQLITE_PATH, as for the service)\n')
  process.exit(0)
}
let config
try {
  config = loadConfig()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`audit:verify: ${err.message}\n`)
  process.exit(2)
}
let store
try {
  // Read only: an offline check must not change the database, not even by migrating it.
  store = await openStore({ databaseUrl: config.DATABASE_URL, sqlitePath: config.SQLITE_PATH, migrate: false })
} catch (err) {
  process.stderr.write(`audit:verify: cannot open the database (${config.DATABASE_URL === undefined ? 'SQLITE_PATH' : 'DATABASE_URL'}): ${(err as Error).message}\n`)
  process.exit(2)
}
try {
  process.stdout.write(`audit:verify: ${paths.length} archive path(s), database ${store.location}\n`)
  const result = await verifyOffline(paths, store.audit)
  for (const line of result.lines) process.stdout.write(`${line}\n`)
  process.exitCode = result.ok ? 0 : 1
} catch (err) {
  // An unreadable archive, or a database without the service's tables (not migrated, or the wrong one).
  process.stderr.write(`audit:verify: could not verify: ${(err as Error).message}\n`)
  process.exitCode = 2
} finally {
  await store.close()
}
