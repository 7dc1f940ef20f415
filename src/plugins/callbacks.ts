import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import { createCallbackDeliverer, type CallbackDeliverer } from '../callbacks/deliverer.ts'
import type { CallbackPolicy } from '../callbacks/target.ts'

declare module 'fastify' {
  interface FastifyInstance {
    callbacks: CallbackDeliverer
    callbackPolicy: CallbackPolicy
  }
}

export default fp<{ startWorkers: boolean }>(async (app, opts) => {
  const config = app.config
  const policy: CallbackPolicy = {
    allowHttp: config.CALLBACK_ALLOW_HTTP,
    allowPrivateNetworks: config.CALLBACK_ALLOW_PRIVATE_NETWORKS,
    allowedHosts: (config.CALLBACK_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '')
  }
  if (config.CALLBACK_SIGNING_SECRET === undefined) {
    app.log.warn('CALLBACK_SIGNING_SECRET is not set: callbacks are signed with a secret made at start, which receivers cannot know')
  }
  const deliverer = createCallbackDeliverer({
    store: app.store,
    log: app.log.child({ component: 'callbacks' }),
    clock: app.clock,
    policy,
    signingSecret: config.CALLBACK_SIGNING_SECRET ?? `whsec_${randomBytes(32).toString('base64')}`,
    timeoutMs: config.CALLBACK_TIMEOUT_MS,
    backoffScale: config.CALLBACK_BACKOFF_SCALE,
    pollMs: config.WORKER_POLL_MS,
    onAttempt: (outcome) => app.telemetry.callbackDeliveries.inc({ outcome })
  })
  app.decorate('callbacks', deliverer)
  app.decorate('callbackPolicy', policy)
  if (opts.startWorkers) app.addHook('onReady', async () => { deliverer.start() })
  app.addHook('preClose', async () => { await deliverer.stop() })
}, { name: 'callbacks', dependencies: ['config', 'store', 'metrics'] })
