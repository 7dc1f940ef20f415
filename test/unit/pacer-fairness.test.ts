import { test, mock, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createPacer, type PacerOptions, type Permit } from '../../src/clients/genesys/pacer.ts'
import type { Share } from '../../src/clients/genesys/fair-queue.ts'

/**
 * The pacer driven by a mocked clock: its `Date.now` and its timers move only when the test ticks
 * them, so every send instant below is the pacer's own decision, never the machine's speed.
 */
function simulatedPacer (t: TestContext, options: Omit<PacerOptions, 'now'>) {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 })
  t.after(() => { mock.timers.reset() })
  const pacer = createPacer({ ...options, now: Date.now })
  const sends: Array<{ who: string, seq: number, at: number, queuedAt: number }> = []
  let inFlight = 0
  let maxInFlight = 0
  let open = 0

  /** Queues one request of `who`; it answers `answerMs` after it is sent, then gives its slot back. */
  function request (who: string, share: Share | undefined, seq: number, answerMs = 30): Promise<void> {
    open += 1
    const queuedAt = Date.now()
    return pacer.acquire(undefined, share).then((permit: Permit) => {
      inFlight += 1
      maxInFlight = Math.max(maxInFlight, inFlight)
      sends.push({ who, seq, at: permit.sentAt, queuedAt })
      setTimeout(() => { inFlight -= 1; open -= 1; permit() }, answerMs)
    })
  }

  const flush = async () => { await new Promise((resolve) => setImmediate(resolve)) }

  /** Moves the clock a millisecond at a time until every queued request has been sent and answered. */
  async function runUntilDone (maxMs = 600_000): Promise<void> {
    await flush()
    const stillOpen = () => open > 0
    for (let ms = 0; stillOpen(); ms++) {
      assert.ok(ms < maxMs, `${open} requests still open after ${maxMs} simulated ms`)
      mock.timers.tick(1)
      await flush()
    }
  }

  return { pacer, sends, request, runUntilDone, get maxInFlight () { return maxInFlight } }
}

/** The most sends in any window [t, t + windowMs): sends less than `windowMs` apart count together. */
function busiestWindow (instants: number[], windowMs: number): number {
  const sorted = [...instants].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

const teamShare = (team: string, job: string, priority?: Share['priority']): Share => ({ team, job, priority })

test('fairness: the pacer never exceeds the limit in any window, nor the concurrency, however the requests are shared and whatever pauses and lowered limits come', async (t) => {
  const limit = 20
  const windowMs = 1000
  const sim = simulatedPacer(t, { limit, windowMs, concurrency: 4, marginMs: 0 })
  const all: Array<Promise<void>> = []
  // Three teams: one big job, many small jobs of every priority, requests that carry no share.
  for (let i = 0; i < 150; i++) all.push(sim.request('big', teamShare('reporting', 'big', 'high'), i, 10 + (i % 7) * 40))
  for (let j = 0; j < 30; j++) all.push(sim.request(`small-${j}`, teamShare('qa', `small-${j}`, (['high', 'normal', 'low'] as const)[j % 3]), 0))
  for (let i = 0; i < 20; i++) all.push(sim.request('service', undefined, i, 5))
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(sim.pacer.waiting + sim.pacer.inFlight, 200)
  // A 429's pause and Genesys lowering the allowance, part way through.
  for (let ms = 0; ms < 2500; ms++) { mock.timers.tick(1); await new Promise((resolve) => setImmediate(resolve)) }
  const pausedAt = Date.now()
  const sentBeforePause = sim.sends.length
  sim.pacer.pauseFor(1500)
  sim.pacer.observe({ allowed: 12, count: 3, resetMs: 60_000 })
  await sim.runUntilDone()
  await Promise.all(all)

  assert.equal(sim.sends.length, 200, 'every request was sent once')
  const before = sim.sends.slice(0, sentBeforePause).map((s) => s.at)
  const after = sim.sends.slice(sentBeforePause).map((s) => s.at)
  assert.ok(before.length > limit, `the run before the pause spans windows (${before.length} sends)`)
  assert.ok(busiestWindow(before, windowMs) <= limit, `at most ${limit} sends in any ${windowMs} ms window before the limit was lowered (busiest: ${busiestWindow(before, windowMs)})`)
  assert.ok(busiestWindow(after, windowMs) <= 12, `at most 12 in any window once Genesys allowed 12 (busiest: ${busiestWindow(after, windowMs)})`)
  assert.ok(after.every((at) => at >= pausedAt + 1500), 'nothing went during the pause')
  assert.ok(sim.maxInFlight <= 4, `at most 4 in flight (saw ${sim.maxInFlight})`)
  const bigOrder = sim.sends.filter((s) => s.who === 'big').map((s) => s.seq)
  assert.deepEqual(bigOrder, [...bigOrder].sort((a, b) => a - b), "a job's own requests keep their order")
})

test("fairness: a small job's wait does not grow with the size of the big job ahead of it (another team's one-call job waits behind at most one of its requests)", async (t) => {
  const positions: number[] = []
  for (const bigSize of [10, 100, 1000]) {
    const sim = simulatedPacer(t, { limit: 300, windowMs: 60_000, concurrency: 10, marginMs: 0 })
    const all: Array<Promise<void>> = []
    for (let i = 0; i < bigSize; i++) all.push(sim.request('big', teamShare('reporting', 'evaluation'), i))
    // The one-call job comes once the big job's requests fill the queue.
    await new Promise((resolve) => setImmediate(resolve))
    assert.ok(sim.pacer.waiting >= bigSize - 2, 'the big job fills the queue (its first requests went at once)')
    all.push(sim.request('small', teamShare('support', 'lookup'), 0))
    await sim.runUntilDone(10_000_000)
    await Promise.all(all)
    positions.push(sim.sends.findIndex((s) => s.who === 'small'))
    mock.timers.reset()
  }
  assert.ok(positions.every((p) => p <= 2), `the one-call job was sent after at most one waiting request of the big job (and the one already sent), whatever its size: positions ${positions.join(', ')}`)
})

test('fairness: without shares (every request the same job) the one-call job waits behind every request queued before it, which is what the fair queue removes', async (t) => {
  const sim = simulatedPacer(t, { limit: 300, windowMs: 60_000, concurrency: 10, marginMs: 0 })
  const same = teamShare('everyone', 'everything')
  const all: Array<Promise<void>> = []
  for (let i = 0; i < 100; i++) all.push(sim.request('big', same, i))
  await new Promise((resolve) => setImmediate(resolve))
  all.push(sim.request('small', same, 0))
  await sim.runUntilDone(10_000_000)
  await Promise.all(all)
  assert.equal(sim.sends.findIndex((s) => s.who === 'small'), 100, 'in arrival order it is the 101st sent')
})

test('fairness: teams take equal turns at the pacer whatever their number of jobs, and within a team priority high gets more turns than low (4 : 2 : 1)', async (t) => {
  const sim = simulatedPacer(t, { limit: 600, windowMs: 60_000, concurrency: 10, marginMs: 0 })
  const all: Array<Promise<void>> = []
  // Team qa: three jobs, one of each priority; team ops: one job. All backlogged throughout the first 140 sends.
  for (let i = 0; i < 100; i++) {
    all.push(sim.request('qa-high', teamShare('qa', 'h', 'high'), i))
    all.push(sim.request('qa-normal', teamShare('qa', 'n', 'normal'), i))
    all.push(sim.request('qa-low', teamShare('qa', 'l', 'low'), i))
    all.push(sim.request('ops', teamShare('ops', 'o', 'low'), i))
  }
  await sim.runUntilDone(10_000_000)
  await Promise.all(all)
  // The very first request went alone, before the others were queued: the turns are counted after it.
  const turns = sim.sends.slice(1, 141)
  const count = (who: string) => turns.filter((s) => s.who === who).length
  assert.ok(Math.abs(count('ops') - 70) <= 1, `team ops, with one low-priority job, had half of the turns (${count('ops')} of 140)`)
  const qa = [count('qa-high'), count('qa-normal'), count('qa-low')]
  assert.ok(Math.abs(qa[0]! - 40) <= 1 && Math.abs(qa[1]! - 20) <= 1 && Math.abs(qa[2]! - 10) <= 1, `team qa's half went 4 : 2 : 1 by priority (high, normal, low: ${qa.join(', ')})`)
})

test("fairness: while a big job saturates the budget, another team's occasional request goes at once on the spare send instead of waiting for the next slot, and the limit holds", async (t) => {
  // 30 per 6 s: a slot every 200 ms, as Genesys's 300 a minute.
  const limit = 30
  const windowMs = 6000
  const sim = simulatedPacer(t, { limit, windowMs, concurrency: 10, marginMs: 0 })
  const all: Array<Promise<void>> = []
  for (let i = 0; i < 300; i++) all.push(sim.request('big', teamShare('reporting', 'evaluation'), i, 20))
  // Once the big job has filled whole windows, a one-call request of another team every 530 ms.
  for (let j = 0; j < 20; j++) setTimeout(() => { all.push(sim.request('small', teamShare('support', `lookup-${j}`), j, 20)) }, 12_000 + j * 530)
  await sim.runUntilDone()
  await Promise.all(all)
  const small = sim.sends.filter((s) => s.who === 'small')
  assert.equal(small.length, 20)
  const waits = small.map((s) => s.at - s.queuedAt)
  assert.ok(waits.every((w) => w === 0), `each went the moment it came (waits: ${waits.join(', ')} ms)`)
  const busiest = busiestWindow(sim.sends.map((s) => s.at), windowMs)
  assert.ok(busiest <= limit, `at most ${limit} sends in any window (busiest: ${busiest})`)
  // The big job kept the rest of the budget: over the stretch, it sent all but the spare and the small requests.
  const stretch = sim.sends.filter((s) => s.at >= 12_000 + 1_000_000 && s.at < 22_000 + 1_000_000)
  const bigInStretch = stretch.filter((s) => s.who === 'big').length
  assert.ok(bigInStretch >= 50 - 20 - 2, `the big job sent ${bigInStretch} in the 10 s stretch (50 slots, 20 taken by the small requests)`)
})

test('fairness: a job that asks one request at a time cannot take the whole budget through the spare send: it alternates with a backlogged job', async (t) => {
  const sim = simulatedPacer(t, { limit: 30, windowMs: 6000, concurrency: 10, marginMs: 0 })
  const all: Array<Promise<void>> = []
  for (let i = 0; i < 200; i++) all.push(sim.request('big', teamShare('reporting', 'evaluation'), i, 20))
  // The steady job queues its next request as soon as the last is answered, 100 in all.
  const steady = async () => { for (let i = 0; i < 100; i++) await sim.request('steady', teamShare('qa', 'sequential'), i, 20).then(() => new Promise((resolve) => setTimeout(resolve, 25))) }
  setTimeout(() => { all.push(steady()) }, 10_000)
  await sim.runUntilDone()
  await Promise.all(all)
  const stretch = sim.sends.filter((s) => s.at >= 1_000_000 + 12_000 && s.at < 1_000_000 + 24_000)
  const bigShare = stretch.filter((s) => s.who === 'big').length / stretch.length
  assert.ok(bigShare >= 0.4 && bigShare <= 0.6, `the two shared the budget (big had ${Math.round(bigShare * 100)}% of ${stretch.length} sends)`)
  assert.ok(busiestWindow(sim.sends.map((s) => s.at), 6000) <= 30)
})
