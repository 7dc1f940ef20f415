import fp from 'fastify-plugin'
import type { Config } from '../config.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    /** The clock every component reads, so tests can move time. */
    now: () => number
  }
}

export default fp<{ config: Config, now?: () => number }>(async (app, opts) => {
  app.decorate('config', opts.config)
  app.decorate('now', opts.now ?? Date.now)
}, { name: 'config' })
