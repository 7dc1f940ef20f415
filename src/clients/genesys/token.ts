import type { Got } from 'got'
import { parseGenesysError } from './errors.ts'

export interface TokenProviderOptions {
  http: Got
  loginUrl: string
  clientId: string
  clientSecret: string
  /** Refresh this long before `expires_in` runs out. */
  refreshMarginMs?: number
  timeoutMs?: number
  now?: () => number
  onRefresh?: (outcome: 'ok' | 'error', durationMs: number) => void
}

/**
 * Client-credentials tokens, cached until shortly before they expire. However many requests need a
 * token at once, one login runs and all of them share its answer.
 */
export function createTokenProvider (options: TokenProviderOptions) {
  const now = options.now ?? Date.now
  const margin = options.refreshMarginMs ?? 60_000
  let current: { token: string, expiresAt: number, refreshAt: number } | undefined
  let pending: Promise<string> | undefined
  let logins = 0

  async function login (): Promise<string> {
    const started = now()
    logins += 1
    try {
      const res = await options.http.post(`${options.loginUrl}/oauth/token`, {
        headers: {
          authorization: `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded'
        },
        body: 'grant_type=client_credentials',
        responseType: 'json',
        throwHttpErrors: false,
        retry: { limit: 2, methods: ['POST'], statusCodes: [429, 500, 502, 503, 504] },
        timeout: { request: options.timeoutMs ?? 15_000 }
      })
      if (res.statusCode !== 200) throw parseGenesysError('oauth.token', res.statusCode, res.body, res.headers)
      const body = res.body as { access_token?: string, expires_in?: number }
      if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
        throw parseGenesysError('oauth.token', res.statusCode, { message: 'The token answer had no access_token or expires_in' }, res.headers)
      }
      const lifetimeMs = body.expires_in * 1000
      // A token that lives less than four margins would be refreshed at once; refresh it late in life instead.
      current = { token: body.access_token, expiresAt: started + lifetimeMs, refreshAt: started + lifetimeMs - Math.min(margin, lifetimeMs / 4) }
      options.onRefresh?.('ok', now() - started)
      return body.access_token
    } catch (err) {
      options.onRefresh?.('error', now() - started)
      throw err
    }
  }

  return {
    async get (): Promise<string> {
      if (current !== undefined && now() < current.refreshAt) return current.token
      pending ??= login().finally(() => { pending = undefined })
      return await pending
    },
    /**
     * Drops a token Genesys refused. Only the token that was refused is dropped, so a burst of
     * 401s for one revoked token causes one login, not one each.
     */
    invalidate (token: string): void {
      if (current?.token === token) current = undefined
    },
    get logins (): number { return logins }
  }
}

export type TokenProvider = ReturnType<typeof createTokenProvider>
