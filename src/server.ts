import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import type { KindsFactory } from './jobs/kinds/index.ts'

export interface RunOptions {
  kinds?: KindsFactory
}

/** Runs `start`; a configuration error (a bad value, a database that cannot be opened) ends the process with one line. */
async function orExit<T> (start: () => T | Promise<T>): Promise<T> {
  try {
    return await start()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`genesys-orchestrator: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }
}

/** Starts the service and shuts it down gracefully on SIGINT/SIGTERM or a fatal error. */
export async function runServer (options: RunOptions = {}): Promise<void> {
  const config: Config = await orExit(() => loadConfig())
  const app = await orExit(async () => await buildApp({ config, kinds: options.kinds }))
  // Grace for running steps plus time to release the rest, inside a container's usual 10 s stop timeout.
  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS + 4000 }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'fatal error, shutting down')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  })
  await app.listen({ host: config.HOST, port: config.PORT })
}

if (import.meta.main) await runServer()
