import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createScheduler } from '../../src/scheduler.ts'
import { createManualClock, type ManualClock } from '../helpers/manual-clock.ts'

/** Lets every promise chain the scheduler started run to its end (the fake source answers at once). */
async function settle (): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Work items kept in memory, each due at a time of the clock; `run` holds until released. */
function fakeSource (clock: ManualClock) {
  const due: Array<{ id: string, at: number }> = []
  const started: string[] = []
  const releases = new Map<string, () => void>()
  let running = 0
  let maxRunning = 0
  let claims = 0
  return {
    started,
    claimsMade: () => claims,
    maxRunning: () => maxRunning,
    add (id: string, at = clock.now()) { due.push({ id, at }) },
    release (id: string) { releases.get(id)?.() },
    source: {
      async claim () {
        claims++
        const i = due.findIndex((d) => d.at <= clock.now())
        return i < 0 ? undefined : due.splice(i, 1)[0]!.id
      },
      async nextDueAt () { return due.length === 0 ? undefined : Math.min(...due.map((d) => d.at)) },
      async run (id: string) {
        started.push(id)
        maxRunning = Math.max(maxRunning, ++running)
        await new Promise<void>((resolve) => releases.set(id, resolve))
        running--
      }
    }
  }
}

const noErrors = (err: unknown) => { throw err }

test('scheduler: a wake claims new work at once while the clock stands still', async () => {
  const clock = createManualClock(0)
  const work = fakeSource(clock)
  const scheduler = createScheduler(work.source, { concurrency: 4, pollMs: 1000, clock, onError: noErrors })
  scheduler.start()
  await settle()
  work.add('a')
  scheduler.wake()
  await settle()
  assert.deepEqual(work.started, ['a'])
  assert.equal(clock.now(), 0)
  work.release('a')
  scheduler.stop()
  await scheduler.settled()
})

test('scheduler: never runs more than the concurrency; each piece that ends makes room for the next', async () => {
  const clock = createManualClock(0)
  const work = fakeSource(clock)
  for (const id of ['a', 'b', 'c', 'd', 'e']) work.add(id)
  const scheduler = createScheduler(work.source, { concurrency: 2, pollMs: 1000, clock, onError: noErrors })
  scheduler.start()
  await settle()
  assert.deepEqual(work.started, ['a', 'b'])
  work.release('a')
  await settle()
  assert.deepEqual(work.started, ['a', 'b', 'c'])
  for (const id of ['b', 'c', 'd']) { work.release(id); await settle() }
  assert.deepEqual(work.started, ['a', 'b', 'c', 'd', 'e'])
  assert.equal(work.maxRunning(), 2)
  work.release('e')
  scheduler.stop()
  await scheduler.settled()
})

test('scheduler: idle, it sleeps on its clock until the next due time, looking again at least every poll interval', async () => {
  const clock = createManualClock(0)
  const work = fakeSource(clock)
  work.add('later', 2500)
  const scheduler = createScheduler(work.source, { concurrency: 1, pollMs: 1000, clock, onError: noErrors })
  scheduler.start()
  await settle()
  const afterStart = work.claimsMade()
  clock.advance(999)
  await settle()
  assert.equal(work.claimsMade(), afterStart, 'no look before the poll interval')
  clock.advance(1)
  await settle()
  assert.equal(work.claimsMade(), afterStart + 1, 'one look at the poll interval')
  assert.deepEqual(work.started, [])
  clock.advance(1000)
  await settle()
  assert.deepEqual(work.started, [], 'not due yet at 2000')
  // From 2000 the next due time (2500) is nearer than the poll interval: it wakes just after it.
  clock.advance(500)
  await settle()
  assert.deepEqual(work.started, [], 'its wake is set just past the due time, when a lease due then is claimable')
  clock.advance(1)
  await settle()
  assert.deepEqual(work.started, ['later'])
  work.release('later')
  scheduler.stop()
  await scheduler.settled()
})

test('scheduler: once stopped it claims nothing, and settled() waits for the work in flight', async () => {
  const clock = createManualClock(0)
  const work = fakeSource(clock)
  work.add('a')
  const scheduler = createScheduler(work.source, { concurrency: 2, pollMs: 1000, clock, onError: noErrors })
  scheduler.start()
  await settle()
  scheduler.stop()
  work.add('b')
  scheduler.wake()
  clock.advance(5000)
  await settle()
  assert.deepEqual(work.started, ['a'])
  let settled = false
  const done = scheduler.settled().then(() => { settled = true })
  await settle()
  assert.equal(settled, false, 'a is still running')
  work.release('a')
  await done
  assert.equal(settled, true)
})

test('scheduler: a failed claim is reported and tried again after the poll interval', async () => {
  const clock = createManualClock(0)
  const errors: unknown[] = []
  let fail = true
  const started: string[] = []
  const scheduler = createScheduler({
    async claim () {
      if (fail) throw new Error('database unavailable')
      return started.length === 0 ? 'a' : undefined
    },
    async nextDueAt () { return undefined },
    async run (id: string) { started.push(id) }
  }, { concurrency: 1, pollMs: 1000, clock, onError: (err, during) => errors.push([during, (err as Error).message]) })
  scheduler.start()
  await settle()
  assert.deepEqual(errors, [['claim', 'database unavailable']])
  fail = false
  clock.advance(1000)
  await settle()
  assert.deepEqual(started, ['a'])
  scheduler.stop()
  await scheduler.settled()
})
