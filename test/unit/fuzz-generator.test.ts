import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HUGE, MAX_ARRAY_BYTES, mutate, type JsonSchema } from '../reliability/schema-arbitrary.ts'

// The fuzz's own generator once ran the test process out of heap: a huge-string mutation put a
// 1.1 MB prompt in the first row, then a bounds mutation copied that row 5 000 times (a 5.5 GB body).

const ROWS: JsonSchema = {
  type: 'object',
  properties: {
    rows: { type: 'array', minItems: 1, maxItems: 5000, items: { type: 'object', properties: { prompt: { type: 'string', maxLength: 20_000 } } } }
  }
}
/** bounds aims at `rows` (site 0 of the bounded sites); pick 3 is maxItems + 1. */
const PAST_MAX_ITEMS = { op: 'bounds', site: 0, pick: 3, size: 0 } as const

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v))

test('fuzz generator: a bounds array of a huge-string row keeps its length (maxItems + 1) and stays under MAX_ARRAY_BYTES', () => {
  const huge = 'A'.repeat(HUGE[HUGE.length - 1]!)
  const body = mutate({ rows: [{ prompt: huge }] }, ROWS, PAST_MAX_ITEMS, null) as { rows: Array<{ prompt: string }> }
  assert.equal(body.rows.length, 5001)
  assert.ok(bytes(body) <= MAX_ARRAY_BYTES + 100, `body of ${bytes(body)} bytes`)
  // Still a row of the same shape with a long prompt, only cut.
  assert.ok(body.rows.every((r) => r.prompt.length > 1000 && huge.startsWith(r.prompt)))
})

test('fuzz generator: a bounds array of a row that fits is made of unchanged copies of the row', () => {
  const row = { prompt: 'Ω🦄'.repeat(2000) }
  const body = mutate({ rows: [structuredClone(row)] }, ROWS, PAST_MAX_ITEMS, null) as { rows: unknown[] }
  assert.equal(body.rows.length, 5001)
  assert.ok(body.rows.every((r) => JSON.stringify(r) === JSON.stringify(row)))
})

test('fuzz generator: a cut multi-unit string does not end in half a surrogate pair', () => {
  const body = mutate({ rows: [{ prompt: '🦄'.repeat(400_000) }] }, ROWS, PAST_MAX_ITEMS, null) as { rows: Array<{ prompt: string }> }
  assert.ok(bytes(body) <= MAX_ARRAY_BYTES + 100)
  assert.ok(body.rows[0]!.prompt.isWellFormed())
})
