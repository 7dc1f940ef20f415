import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import { createGenesys, resolveHosts, type Genesys, type GenesysClientOptions } from '../clients/genesys/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    genesys: Genesys
    /** `sandbox` when no Genesys credentials are configured and the built-in stand-in serves. */
    genesysMode: 'live' | 'sandbox'
  }
}

/** What this plugin needs of the sandbox, which it loads only in sandbox mode (never on the production path). */
interface InProcessSandbox {
  url: string
  setWebhooks (webhooks: { flowEventsUrl: string, flowEventsSecret?: string, signingSecret?: string }): void
  close (): Promise<void>
}

async function startInProcessSandbox (credentials: { clientId: string, clientSecret: string }): Promise<InProcessSandbox> {
  // A dynamic import keeps the stand-in (and its fixtures) out of a process that talks to a real org.
  const { startSandbox } = await import('../sandbox/index.ts')
  return await startSandbox({ host: '127.0.0.1', port: 0, ...credentials })
}

export default fp(async (app) => {
  const config = app.config
  let connection: Pick<GenesysClientOptions, 'hosts' | 'clientId' | 'clientSecret'>
  let sandbox: InProcessSandbox | undefined
  if (config.GENESYS_CLIENT_ID !== undefined && config.GENESYS_CLIENT_SECRET !== undefined) {
    connection = {
      hosts: resolveHosts({ region: config.GENESYS_REGION, apiUrl: config.GENESYS_API_URL, loginUrl: config.GENESYS_LOGIN_URL }),
      clientId: config.GENESYS_CLIENT_ID,
      clientSecret: config.GENESYS_CLIENT_SECRET
    }
    app.log.info({ apiUrl: connection.hosts.apiUrl }, 'running against Genesys Cloud')
  } else {
    const credentials = { clientId: 'sandbox-client', clientSecret: randomBytes(24).toString('base64url') }
    sandbox = await startInProcessSandbox(credentials)
    connection = { hosts: { apiUrl: sandbox.url, loginUrl: sandbox.url }, ...credentials }
    app.log.info({ sandbox: sandbox.url }, 'no GENESYS_CLIENT_ID set: running against the built-in Genesys sandbox')
    app.addHook('onClose', async () => { await sandbox?.close() })
    // The sandbox's workflows post their node events back here, as a real workflow's data action would.
    app.addHook('onListen', async () => {
      const address = app.server.address()
      if (address === null || typeof address === 'string') return
      const host = address.family === 'IPv6' ? `[${address.address === '::' ? '::1' : address.address}]` : (address.address === '0.0.0.0' ? '127.0.0.1' : address.address)
      sandbox?.setWebhooks({
        flowEventsUrl: `http://${host}:${address.port}/v1/webhooks/genesys/flow-events`,
        flowEventsSecret: app.webhookSecrets[0],
        signingSecret: app.webhookSigningSecret
      })
    })
  }
  const genesys = createGenesys({
    ...connection,
    rateLimit: { limit: config.GENESYS_RATE_LIMIT_PER_MINUTE, windowMs: 60_000 },
    concurrency: config.GENESYS_CONCURRENCY,
    defaultTimeoutMs: config.GENESYS_TIMEOUT_MS,
    maxRetryAfterMs: config.GENESYS_MAX_RETRY_AFTER_MS,
    retries: config.GENESYS_RETRIES,
    retryBackoff: { minMs: config.GENESYS_RETRY_BASE_MS, maxMs: Math.max(config.GENESYS_RETRY_BASE_MS, 10_000) },
    log: app.log.child({ component: 'genesys' }),
    observer: {
      response: ({ operation, status, durationMs }) => {
        app.telemetry.genesysRequests.inc({ operation, status: String(status) })
        app.telemetry.genesysRequestDuration.observe({ operation }, durationMs / 1000)
      },
      throttled: ({ operation, pauseMs }) => {
        app.telemetry.genesysThrottled.inc({ operation })
        app.telemetry.genesysPauseSeconds.inc(pauseMs / 1000)
      },
      tokenRefresh: ({ outcome }) => app.telemetry.genesysTokenRefreshes.inc({ outcome })
    }
    // Wall time, not the service clock: pacing, retries and token lifetimes follow the real API.
  })
  app.decorate('genesys', genesys)
  app.decorate('genesysMode', sandbox === undefined ? 'live' : 'sandbox')
}, { name: 'genesys', dependencies: ['config', 'metrics'] })
