// The design documents' Genesys client policy (seeds 000 and 002): get a token, then fire each
// request at once — no pacing, no shared view of the rate limit — and on a 429 (or a 5xx) retry
// with exponential backoff and jitter, three tries in all, then give up. Seed 002's delay is
// `1000 * 2^retry + random() * 500` ms; seed 000 stops after three tries (seed 002's loop allows
// a fourth). Retry-After is not honoured (seed 002 ignores it; seed 000 reads the header's seconds
// as milliseconds, which amounts to the same). Plain fetch.
import { setTimeout as sleep } from 'node:timers/promises'

export interface NaiveClientOptions {
  baseUrl: string
  clientId: string
  clientSecret: string
  actionId: string
  /** One execute call per entry. */
  inputs: ReadonlyArray<Record<string, unknown>>
  /** Calls in flight at once (the documents have no limit; the bench gives it the service's). */
  concurrency: number
  maxTries?: number
  baseDelayMs?: number
}

export interface NaiveClientOutcome {
  /** Execute calls that succeeded in the end. */
  succeeded: number
  /** Execute calls given up on (retries exhausted or a non-retryable answer). */
  failed: number
  /** Every HTTP answer to /api/v2 requests, retries included. */
  responses: number
  responses429: number
  startedAt: number
  finishedAt: number
}

const RETRY_ON = new Set([429, 500, 502, 503, 504])

export async function runNaiveClient (options: NaiveClientOptions): Promise<NaiveClientOutcome> {
  const maxTries = options.maxTries ?? 3
  const baseDelayMs = options.baseDelayMs ?? 1000
  const outcome: NaiveClientOutcome = { succeeded: 0, failed: 0, responses: 0, responses429: 0, startedAt: Date.now(), finishedAt: 0 }

  const tokenRes = await fetch(`${options.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded'
    },
    body: 'grant_type=client_credentials'
  })
  if (!tokenRes.ok) throw new Error(`naive client: token request answered ${tokenRes.status}`)
  const token = (await tokenRes.json() as { access_token: string }).access_token
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' }

  async function withRetry (url: string, init: RequestInit): Promise<boolean> {
    for (let attempt = 0; attempt < maxTries; attempt++) {
      let status = 0
      try {
        const res = await fetch(url, init)
        await res.arrayBuffer()
        status = res.status
      } catch {
        status = 0
      }
      if (status !== 0) outcome.responses++
      if (status === 429) outcome.responses429++
      if (status >= 200 && status < 300) return true
      if (!RETRY_ON.has(status) || attempt === maxTries - 1) return false
      await sleep(baseDelayMs * 2 ** attempt + Math.random() * 500)
    }
    return false
  }

  // The same calls the service makes: the action with its contract once, then one execute per job.
  await withRetry(`${options.baseUrl}/api/v2/integrations/actions/${options.actionId}?expand=contract`, { headers })

  let next = 0
  const lane = async () => {
    while (next < options.inputs.length) {
      const inputs = options.inputs[next++]
      const ok = await withRetry(`${options.baseUrl}/api/v2/integrations/actions/${options.actionId}/execute`, {
        method: 'POST', headers, body: JSON.stringify(inputs)
      })
      if (ok) outcome.succeeded++
      else outcome.failed++
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, lane))
  outcome.finishedAt = Date.now()
  return outcome
}
