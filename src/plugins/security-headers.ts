import type { IncomingMessage, ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

/** The API answers JSON: nothing it serves needs to load anything. /docs sets its own policy (swagger.ts). */
const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'none'"],
      frameAncestors: ["'none'"],
      upgradeInsecureRequests: null
    }
  }
}

/**
 * The headers helmet sets for these options. Without nonces they depend on the options alone, so
 * helmet runs once at start-up (@fastify/helmet builds its middleware again for every request,
 * about 5 % of a submission's CPU).
 */
export function securityHeaders (options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const collector = {
    setHeader (name: string, value: string | number) { headers[name.toLowerCase()] = String(value) },
    removeHeader (name: string) { Reflect.deleteProperty(headers, name.toLowerCase()) }
  }
  helmet(options)({} as IncomingMessage, collector as unknown as ServerResponse, (err?: unknown) => { if (err !== undefined) throw err })
  return headers
}

/** Helmet's headers on every answer; registered first, so answers refused by later hooks (401, 429) carry them too. */
export default fp(async (app) => {
  const headers = securityHeaders(HELMET_OPTIONS)
  app.addHook('onRequest', async (_request, reply) => { void reply.headers(headers) })
}, { name: 'security-headers' })
