import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createFairQueue, type Share } from '../../src/clients/genesys/fair-queue.ts'
import { createPacer } from '../../src/clients/genesys/pacer.ts'

const share = (team: string, job: string, priority?: Share['priority']): Share => ({ team, job, priority })
function drain<T> (queue: { shift (): T | undefined }): T[] {
  const out: T[] = []
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) out.push(item)
  return out
}

test('fairness: fair queue: a small job is served next, however many requests a big job queued before it', () => {
  const queue = createFairQueue<string>()
  for (let i = 0; i < 100; i++) queue.push(`big-${i}`, share('reporting', 'big'))
  queue.push('small-0', share('reporting', 'small'))
  const order = drain(queue)
  assert.ok(order.indexOf('small-0') <= 1, `the small job came at ${order.indexOf('small-0')}`)
  assert.deepEqual(order.filter((x) => x.startsWith('big')), Array.from({ length: 100 }, (_, i) => `big-${i}`), "a job's own requests keep their order")
})

test('fairness: fair queue: teams take equal turns whatever their number of jobs', () => {
  const queue = createFairQueue<string>()
  for (let j = 0; j < 10; j++) for (let i = 0; i < 10; i++) queue.push(`A${j}`, share('A', `a${j}`))
  for (let i = 0; i < 10; i++) queue.push('B', share('B', 'b0'))
  const first20 = drain(queue).slice(0, 20)
  assert.equal(first20.filter((x) => x === 'B').length, 10, 'team B, with one job, had half the turns while both waited')
  // Within team A the ten jobs share A's half in turn.
  const aTurns = first20.filter((x) => x !== 'B')
  assert.equal(new Set(aTurns).size, 10)
})

test('fairness: fair queue: within a team, priority weighs the turns (high 4 : normal 2 : low 1)', () => {
  const queue = createFairQueue<string>()
  for (let i = 0; i < 70; i++) {
    queue.push('high', share('qa', 'h', 'high'))
    queue.push('normal', share('qa', 'n'))
    queue.push('low', share('qa', 'l', 'low'))
  }
  const first70 = drain(queue).slice(0, 70)
  const count = (p: string) => first70.filter((x) => x === p).length
  assert.deepEqual([count('high'), count('normal'), count('low')], [40, 20, 10])
})

test('fairness: fair queue: a job that was idle neither saves up turns nor waits behind the backlog', () => {
  const queue = createFairQueue<string>()
  // x was served 50 times, went idle, then came back with 50 more.
  for (let i = 0; i < 50; i++) queue.push('x', share('t', 'x'))
  assert.equal(drain(queue).length, 50)
  for (let i = 0; i < 50; i++) queue.push('x', share('t', 'x'))
  for (let i = 0; i < 30; i++) assert.equal(queue.shift(), 'x')
  for (let i = 0; i < 10; i++) queue.push('y', share('t', 'y'))
  const next10 = Array.from({ length: 10 }, () => queue.shift())
  assert.equal(next10.filter((v) => v === 'y').length, 5, 'the newcomer alternates with the job that was there')
  assert.equal(queue.remove('y'), true)
  assert.equal(queue.size, 15 + 4)
})

test('fairness: pacer: waiting requests get their send slots fairly: a one-call job waits behind one request, not behind a big job\'s hundred', async () => {
  const pacer = createPacer({ limit: 1_000_000, windowMs: 60_000, concurrency: 1, marginMs: 0 })
  const order: string[] = []
  const first = await pacer.acquire(undefined, share('reporting', 'big'))
  // Each request's answer comes in as soon as it is sent: the permit goes back at once.
  const send = (who: string, s: Share) => pacer.acquire(undefined, s).then((release) => { order.push(who); release() })
  const waiting = [
    ...Array.from({ length: 100 }, () => send('big', share('reporting', 'big'))),
    send('small', share('qa', 'one-call'))
  ]
  assert.equal(pacer.waiting, 101)
  first()
  await Promise.all(waiting)
  assert.ok(order.indexOf('small') <= 1, `the one-call job got slot ${order.indexOf('small') + 1} of 101`)
  assert.equal(pacer.inFlight, 0)
  const aborted = new AbortController()
  const blocker = await pacer.acquire()
  const gaveUp = pacer.acquire(aborted.signal)
  aborted.abort()
  await assert.rejects(gaveUp)
  assert.equal(pacer.waiting, 0, 'an aborted wait leaves the queue')
  blocker()
})

test('fairness: fair queue: a job that sends one request at a time (the next once the last is answered) alternates with a backlogged one instead of taking every turn', () => {
  const queue = createFairQueue<string>()
  for (let i = 0; i < 100; i++) queue.push('big', share('reporting', 'big'))
  const served: string[] = []
  // The one-at-a-time job's next request is queued as soon as its last one is served.
  queue.push('steady', share('qa', 'steady'))
  for (let turn = 0; turn < 40; turn++) {
    const item = queue.shift()!
    served.push(item)
    if (item === 'steady') queue.push('steady', share('qa', 'steady'))
  }
  const steady = served.filter((x) => x === 'steady').length
  assert.ok(steady >= 19 && steady <= 21, `the two teams shared the turns (steady had ${steady} of 40)`)
})
