import { fileURLToPath } from 'node:url'
import fp from 'fastify-plugin'
import fastifyStatic from '@fastify/static'
import type { HelmetOptions } from 'helmet'
import { Type } from 'typebox'
import { securityHeaders } from './security-headers.ts'
import { loadVendorAssets } from '../ui/vendor.ts'

/** The console's own files (HTML, CSS, browser modules); served as they are, no build step. */
export const UI_ROOT = fileURLToPath(new URL('../ui/public/', import.meta.url))

/**
 * The console runs only what this service serves: scripts, styles, images and API calls from
 * its own origin, no inline script or style, no eval, never framed. Stricter than /docs, which
 * needs an inline style for Swagger UI's logo.
 */
export const UI_HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      scriptSrcAttr: ["'none'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'"],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"]
    }
  },
  // The API key lives in sessionStorage; nothing about the console should leak through a Referer.
  referrerPolicy: { policy: 'no-referrer' }
}

const hidden = { hide: true }

/**
 * The operator console at /ui: static files from src/ui/public and browser libraries from npm
 * packages (src/ui/vendor.ts), under their own Content-Security-Policy. It needs no API key to
 * load; everything it shows comes from the public API, called with the key the person signs in with.
 */
export default fp(async (app) => {
  const headers = securityHeaders(UI_HELMET_OPTIONS)
  const vendor = await loadVendorAssets()

  await app.register(async (ui) => {
    // Runs after the root's onRequest hook (security-headers), so these replace the API's policy.
    ui.addHook('onRequest', async (_request, reply) => { void reply.headers(headers) })

    await ui.register(fastifyStatic, {
      root: UI_ROOT,
      prefix: '/ui/',
      index: false,
      schemaHide: true,
      cacheControl: true,
      maxAge: 0,
      etag: true,
      lastModified: true
    })

    // The router ignores trailing slashes, so this answers both /ui and /ui/. The page is small and
    // names its assets absolutely; it is always revalidated so a new version shows at once.
    ui.get('/ui', { schema: hidden }, async (_request, reply) => {
      return await reply.header('cache-control', 'no-cache').sendFile('index.html', UI_ROOT, { cacheControl: false })
    })

    ui.get<{ Params: { name: string } }>('/ui/vendor/:name', {
      schema: { ...hidden, params: Type.Object({ name: Type.String({ maxLength: 100 }) }) }
    }, async (request, reply) => {
      const asset = vendor.get(request.params.name)
      if (asset === undefined) return reply.callNotFound()
      void reply.header('etag', asset.etag).header('cache-control', 'no-cache').type(asset.contentType)
      if (request.headers['if-none-match'] === asset.etag) return await reply.code(304).send()
      return await reply.send(asset.body)
    })
  })
}, { name: 'ui', dependencies: ['security-headers'] })
