import autocannon from 'autocannon'
import { round } from './stats.ts'

export interface LoadOptions {
  url: string
  method?: 'GET' | 'POST'
  path: string
  headers?: Record<string, string>
  /** A fixed body. */
  body?: string
  /** A fresh body per request (autocannon `setupRequest`), e.g. for a unique event id. */
  makeBody?: () => string
  connections: number
  durationS: number
}

export interface LoadSummary {
  /** 2xx answers per second over the run. */
  rps: number
  latencyMs: { p50: number, p90: number, p99: number, mean: number, max: number }
  requests: number
  ok: number
  non2xx: number
  errors: number
  timeouts: number
  statusCodes: Record<string, number>
  connections: number
  durationS: number
}

/** One autocannon run against a loopback target; only 2xx answers count as throughput. */
export async function load (options: LoadOptions): Promise<LoadSummary> {
  const headers = { ...options.headers, ...(options.body !== undefined || options.makeBody !== undefined ? { 'content-type': 'application/json' } : {}) }
  const makeBody = options.makeBody
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationS,
    ...(makeBody === undefined
      ? { method: options.method ?? 'GET', headers, body: options.body, requests: [{ method: options.method ?? 'GET', path: options.path }] }
      : {
          requests: [{
            method: options.method ?? 'POST',
            path: options.path,
            headers,
            setupRequest: (request: autocannon.Request) => ({ ...request, body: makeBody() })
          }]
        })
  })
  const statusCodes: Record<string, number> = {}
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0
  const ok = result['2xx']
  return {
    rps: round(ok / result.duration, 1),
    latencyMs: {
      p50: round(result.latency.p50),
      p90: round(result.latency.p90),
      p99: round(result.latency.p99),
      mean: round(result.latency.mean),
      max: round(result.latency.max)
    },
    requests: result.requests.total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    connections: options.connections,
    durationS: round(result.duration, 2)
  }
}
