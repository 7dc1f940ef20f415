import { test } from 'node:test'
import assert from 'node:assert/strict'
import { findCycle, nestingDepth } from '../../src/jobs/graph.ts'

test('graph: acyclic graphs, including diamonds and references to undeclared names, have no cycle', () => {
  assert.equal(findCycle({}), undefined)
  assert.equal(findCycle({ a: ['b', 'c'], b: ['d'], c: ['d'], d: [] }), undefined)
  assert.equal(findCycle({ a: ['external'] }), undefined)
})

test('graph: a cycle is reported as the path that closes it', () => {
  assert.deepEqual(findCycle({ a: ['b'], b: ['c'], c: ['a'] }), ['a', 'b', 'c', 'a'])
  assert.deepEqual(findCycle({ a: ['a'] }), ['a', 'a'])
  assert.deepEqual(findCycle({ start: ['x'], x: ['y'], y: ['x'] }), ['x', 'y', 'x'])
  assert.deepEqual(findCycle({ a: ['b', 'c'], b: [], c: ['d'], d: ['c'] }), ['c', 'd', 'c'])
})

test('graph: a 100 000-long chain is checked without overflowing the stack', () => {
  const graph: Record<string, string[]> = {}
  for (let i = 0; i < 100_000; i++) graph[`n${i}`] = [`n${i + 1}`]
  assert.equal(findCycle(graph), undefined)
  graph.n99999 = ['n0']
  assert.equal(findCycle(graph)?.length, 100_001)
})

test('nesting depth counts levels down to the deepest value', () => {
  assert.equal(nestingDepth(1), 0)
  assert.equal(nestingDepth({}), 1)
  assert.equal(nestingDepth({ a: 1 }), 1)
  assert.equal(nestingDepth({ a: { b: [1, { c: 2 }] } }), 4)
  assert.equal(nestingDepth({ a: { b: { c: { d: { e: 1 } } } } }), 5)
  assert.equal(nestingDepth({ a: { b: { c: { d: { e: { f: 1 } } } } } }), 6)
})
