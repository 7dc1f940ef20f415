import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.ts'
import { trackSecret } from './secrets.ts'
import { createTestDatabase } from './database.ts'
import { startService } from './service.ts'

export const SANDBOX_CLIENT = { id: 'orchestrator-tests', secret: 'orchestrator-tests-secret-5b1e' }
trackSecret(SANDBOX_CLIENT.secret)

/** A sandbox the test controls, and the environment that points the service at it. */
export async function startTestSandbox (options: SandboxOptions = {}): Promise<{ sandbox: Sandbox, env: Record<string, string> }> {
  const sandbox = await startSandbox({ clientId: SANDBOX_CLIENT.id, clientSecret: SANDBOX_CLIENT.secret, rateLimit: { limit: 100_000, windowMs: 60_000 }, ...options })
  return {
    sandbox,
    env: {
      GENESYS_API_URL: sandbox.url,
      GENESYS_LOGIN_URL: sandbox.url,
      GENESYS_CLIENT_ID: SANDBOX_CLIENT.id,
      GENESYS_CLIENT_SECRET: SANDBOX_CLIENT.secret,
      GENESYS_RATE_LIMIT_PER_MINUTE: '100000'
    }
  }
}

/**
 * A fresh database, a test sandbox and the service pointed at both; `stop` closes them in order
 * and remembers the service's Genesys token for the log check.
 */
export async function startGenesysService (sandboxOptions: SandboxOptions = {}, env: Record<string, string> = {}) {
  const db = await createTestDatabase()
  const { sandbox, env: genesysEnv } = await startTestSandbox(sandboxOptions)
  const svc = await startService(undefined, { ...db.env, ...genesysEnv, ...env })
  return {
    db,
    sandbox,
    svc,
    async stop () {
      trackSecret(await svc.app.genesys.client.tokens.get())
      await svc.close()
      await sandbox.close()
      await db.drop()
    }
  }
}
