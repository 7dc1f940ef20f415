import assert from 'node:assert/strict'
import type { LogEntry, Sandbox } from '../../src/sandbox/index.ts'

/**
 * Fails unless the sandbox serves every named route, so a filter over its request log cannot
 * silently match nothing because a route name is misspelt (`:id` for `:executionId`).
 */
export function assertServes (sandbox: Sandbox, ...routes: string[]): void {
  const served = sandbox.routes()
  for (const route of routes) assert.ok(served.includes(route), `the sandbox serves no route '${route}'; it serves: ${served.join(', ')}`)
}

/** The request log's entries for one route the sandbox serves (oldest first), from `log` or the whole log. */
export function requestsTo (sandbox: Sandbox, route: string, log: LogEntry[] = sandbox.stats().log): LogEntry[] {
  assertServes(sandbox, route)
  return log.filter((e) => e.route === route)
}

/** `stats().requests` for one route the sandbox serves: how many answers of each status. */
export function answersTo (sandbox: Sandbox, route: string): Record<string, number> {
  assertServes(sandbox, route)
  return sandbox.stats().requests[route] ?? {}
}

export const EXECUTE_ROUTE = 'POST /api/v2/integrations/actions/:actionId/execute'

/**
 * The bodies of every execution of one data action, in the order they reached the sandbox (each
 * is recorded as it arrives, before the action runs), after checking the execute route exists.
 * `stats().log` is written as answers go out, so it does not order requests that overlap.
 */
export function executionsOf (sandbox: Sandbox, actionId: string): Array<Record<string, unknown>> {
  assertServes(sandbox, EXECUTE_ROUTE)
  return (sandbox.stats().actionBodies[actionId] ?? []) as Array<Record<string, unknown>>
}
