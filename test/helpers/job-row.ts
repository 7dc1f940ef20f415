import type { JobRow } from '../../src/store/jobs-repository.ts'

// A queued job's row as submit writes it, for store tests that insert jobs directly; a test
// overrides what it is about (kind, step, status, lease…).
export function jobRow (id: string, now: number, overrides: Partial<JobRow> = {}): JobRow {
  return {
    id,
    kind: 'flow-execution',
    status: 'queued',
    caller: 'k',
    team: 'k',
    input: '{}',
    labels: '{}',
    callbackUrl: null,
    step: 'launch',
    state: '{}',
    stepAttempt: 0,
    result: null,
    error: null,
    progressDone: null,
    progressTotal: null,
    waitReason: null,
    runAt: now,
    deadlineAt: now + 3_600_000,
    leaseOwner: null,
    leaseToken: null,
    leaseExpiresAt: null,
    claims: 0,
    cancelRequested: 0,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    updatedAt: now,
    remoteRef: null,
    cacheHit: null,
    callLatencyMs: null,
    cancelledBy: null,
    wokenAt: null,
    rerunOf: null,
    rerunRows: null,
    priority: 'normal',
    ...overrides
  }
}
