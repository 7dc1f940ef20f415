import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createStepper } from '../../src/sandbox/stepper.ts'

/** The states a resource answers to `polls` polls, and the states it entered on the way. */
function run (shares: Array<number | null>, polls: number, settleFirst = true) {
  const entered: number[] = []
  const steps = createStepper(shares.length, (state) => shares[state]!, (state) => { entered.push(state) })
  if (settleFirst) steps.settle()
  const answers: number[] = []
  for (let i = 0; i < polls; i++) {
    steps.poll()
    answers.push(steps.state)
  }
  return { answers, entered, steps }
}

test('sandbox stepper: each state answers its share of polls, then the next poll moves on', () => {
  assert.deepEqual(run([1, 1], 4).answers, [0, 1, 2, 2])
  assert.deepEqual(run([2, 3], 7).answers, [0, 0, 1, 1, 1, 2, 2])
  const { answers, entered } = run([1, 2, 1], 6)
  assert.deepEqual(answers, [0, 1, 1, 2, 3, 3])
  assert.deepEqual(entered, [1, 2, 3], 'every state entered once, in order')
})

test('sandbox stepper: a share of 0 skips the state, at settle time or at the first poll', () => {
  const settled = run([0, 0], 0)
  assert.equal(settled.steps.state, 2, 'settled at creation')
  assert.deepEqual(settled.entered, [1, 2])
  assert.deepEqual(run([0, 0], 1, false).answers, [2], 'not settled: the first poll finds it at the end')
  assert.deepEqual(run([0, 1], 3).answers, [1, 2, 2])
})

test('sandbox stepper: null holds a state until an advance; an advance moves one state or to the end', () => {
  const { answers, steps, entered } = run([null, 1, 1], 3)
  assert.deepEqual(answers, [0, 0, 0])
  assert.equal(steps.advance(), true)
  assert.equal(steps.state, 1)
  assert.equal(steps.advance('end'), true)
  assert.equal(steps.state, 3)
  assert.equal(steps.advance(), false, 'nothing after the last state')
  assert.deepEqual(entered, [1, 2, 3])
})
