import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.ts'
import { trackSecret } from './secrets.ts'

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
