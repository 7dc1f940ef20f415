import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import { systemClock, type Clock } from '../clock.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    /** The service's time: every component that reads the time or schedules work uses it, so tests can move time. */
    clock: Clock
    /** The receivers' shared secrets: WEBHOOK_SECRET (several while rotating), or outside production one made at start. */
    webhookSecrets: readonly string[]
    /** The Standard Webhooks secret: WEBHOOK_SIGNING_SECRET, or outside production one made at start. */
    webhookSigningSecret: string
  }
}

export default fp<{ config: Config, clock?: Clock }>(async (app, opts) => {
  app.decorate('config', opts.config)
  app.decorate('clock', opts.clock ?? systemClock)
  // Production refuses to start without WEBHOOK_SECRET (config.ts); elsewhere a secret made here
  // lets the built-in sandbox's deliveries in, and nothing else.
  app.decorate('webhookSecrets', (opts.config.WEBHOOK_SECRET ?? randomBytes(24).toString('base64url')).split(/\s+/).filter((s) => s !== ''))
  app.decorate('webhookSigningSecret', opts.config.WEBHOOK_SIGNING_SECRET ?? `whsec_${randomBytes(32).toString('base64')}`)
  if (opts.config.WEBHOOK_SECRET === undefined) app.log.warn('WEBHOOK_SECRET is not set: the webhook receivers accept only the built-in sandbox, with a secret made at start')
}, { name: 'config' })
