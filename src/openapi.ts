import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'
import { defaultKinds } from './jobs/kinds/index.ts'
import type { KindsFactory } from './jobs/kinds/index.ts'

/** The OpenAPI document as the running service would serve it, without starting workers. */
export async function generateOpenapi (kinds: KindsFactory = defaultKinds): Promise<string> {
  const config = loadConfig({ LOG_LEVEL: 'silent', SQLITE_PATH: ':memory:' })
  const app = await buildApp({ config, kinds, startWorkers: false })
  try {
    await app.ready()
    return `${app.swagger({ yaml: true }).trimEnd()}\n`
  } finally {
    await app.close()
  }
}
