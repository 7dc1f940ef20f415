import { conflict, invalid } from '../errors.ts'
import type { Store } from '../store/database.ts'
import type { JobRow } from '../store/jobs-repository.ts'
import type { StoredItem } from '../store/items-repository.ts'
import type { Actor } from './actor.ts'
import type { Cell, JobKind, KindComparison, KindItems, Table } from './kind.ts'
import { jobNotFound, visibleRow } from './read.ts'

export interface ItemsDeps {
  store: Store
  kinds: ReadonlyMap<string, JobKind>
}

/** A page of a job's items (LLM dataset rows) as callers see them. */
export interface ItemPage {
  jobId: string
  kind: string
  status: string
  /** How many items there will be (the dataset's rows), when the job knows. */
  total: number | null
  /** Items recorded so far per outcome. */
  counts: Record<string, number>
  items: Array<Record<string, unknown>>
  /** Pass as `cursor` for the next page; null on the last. */
  nextCursor: string | null
}

/** A whole set of items or flips for an export: the table's columns and the rows, read a batch at a time. */
export interface Export<R> {
  table: Table<R>
  rows: AsyncIterable<R>
}

export interface Comparison {
  jobId: string
  otherJobId: string
  /** Each figure in both runs and the difference (other − this); null where a run did not measure it. */
  figures: Record<string, { this: number | null, other: number | null, delta: number | null }>
  /** How many items went from each outcome in this run to each outcome in the other. */
  outcomeChanges: Array<{ from: string, to: string, count: number }>
  /** The flips (items whose outcome went from one side of a flip pair to the other), after `cursor`. */
  items: FlipView[]
  nextCursor: string | null
}

export interface FlipView { index: number, outcome: string, otherOutcome: string, item: Record<string, unknown>, otherItem: Record<string, unknown> }

const PAGE = 500

/** `cursor` is the index of the last item of the previous page. */
export function parseItemCursor (cursor: string | undefined): number {
  if (cursor === undefined) return -1
  if (!/^\d{1,9}$/.test(cursor)) throw invalid('INVALID_CURSOR', 'cursor is not one this service issued; pass nextCursor from the previous page unchanged')
  return Number(cursor)
}

const lazy = <T>(make: () => T): (() => T) => {
  let value: { v: T } | undefined
  return () => (value ??= { v: make() }).v
}

interface JobItems {
  row: JobRow
  items: KindItems
  input: () => unknown
}

/**
 * The job (visible to the actor) and what its kind says about its items; refuses, in words, a job
 * that has none: a kind that records no items, or a job whose engine reports none.
 */
async function jobItems (deps: ItemsDeps, actor: Actor, id: string, visible?: JobRow): Promise<JobItems> {
  const row = visible ?? await visibleRow(deps, actor, id)
  if (row === undefined) throw jobNotFound(id)
  const items = deps.kinds.get(row.kind)?.items as KindItems | undefined
  if (items === undefined) {
    const withItems = [...deps.kinds.values()].filter((k) => k.items !== undefined).map((k) => k.name)
    throw conflict('ITEMS_NOT_AVAILABLE', `Job ${id} is a ${row.kind} job, which records no per-item outcomes; ` +
      `${withItems.length === 0 ? 'no kind of this service does' : `only ${withItems.join(', ')} jobs do`}. Its result is at GET /v1/jobs/${id}.`)
  }
  // Parsed only when needed: a job that has recorded items can have them, whatever its input says.
  const input = lazy(() => JSON.parse(row.input) as unknown)
  const counts = await deps.store.items.countByOutcome(row.id)
  const why = counts.length === 0 ? items.unavailable?.(input()) : undefined
  if (why !== undefined) throw conflict('ITEMS_NOT_AVAILABLE', `Job ${id} has no rows: ${why}`)
  if (counts.some((c) => c.outcome === null)) await classifyOld(deps.store, row.id, items)
  return { row, items, input }
}

/** Items saved before outcomes were recorded (migration 0009) get theirs from the kind, once. */
async function classifyOld (store: Store, jobId: string, items: KindItems): Promise<void> {
  for (;;) {
    const unclassified = await store.items.withoutOutcome(jobId, PAGE)
    if (unclassified.length === 0) return
    await store.items.setOutcomes(jobId, unclassified.map((i) => ({ index: i.index, outcome: items.outcomeOf(i.data) })))
    if (unclassified.length < PAGE) return
  }
}

function checkOutcome (items: KindItems, outcome: string | undefined): void {
  if (outcome !== undefined && !items.outcomes.includes(outcome)) {
    throw invalid('OUTCOME_UNKNOWN', `outcome '${outcome}' is not one of ${items.outcomes.join(', ')}`)
  }
}

const viewOf = (j: JobItems, item: StoredItem) => j.items.view(item.index, item.data, item.outcome ?? j.items.outcomeOf(item.data), j.input)

/** One page of a job's items in index order, of one outcome when asked. */
export async function listItems (deps: ItemsDeps, actor: Actor, id: string, query: { outcome?: string, cursor?: string, limit: number }): Promise<ItemPage> {
  const after = parseItemCursor(query.cursor)
  const j = await jobItems(deps, actor, id)
  checkOutcome(j.items, query.outcome)
  const stored = await deps.store.items.page(j.row.id, { after, limit: query.limit + 1, outcome: query.outcome })
  const page = stored.slice(0, query.limit)
  const counts = Object.fromEntries(j.items.outcomes.map((o) => [o, 0]))
  for (const c of await deps.store.items.countByOutcome(j.row.id)) if (c.outcome !== null) counts[c.outcome] = c.count
  return {
    jobId: j.row.id,
    kind: j.row.kind,
    status: j.row.status,
    total: j.row.progressTotal,
    counts,
    items: page.map((item) => viewOf(j, item)),
    nextCursor: stored.length > query.limit ? String(page[page.length - 1]!.index) : null
  }
}

/** Every item (of one outcome when asked), for a CSV or JSON Lines export. */
export async function exportItems (deps: ItemsDeps, actor: Actor, id: string, query: { outcome?: string }): Promise<Export<Record<string, unknown>>> {
  const j = await jobItems(deps, actor, id)
  checkOutcome(j.items, query.outcome)
  const stored = deps.store.items.iterate(j.row.id, { outcome: query.outcome })
  return {
    table: j.items.table,
    rows: (async function * () { for await (const item of stored) yield viewOf(j, item) })()
  }
}

interface Pair { a: JobItems, b: JobItems, comparison: KindComparison<unknown> }

/** Both jobs, visible to the actor, of one kind that compares runs, over the same dataset; otherwise a refusal that says why. */
async function comparablePair (deps: ItemsDeps, actor: Actor, id: string, otherId: string): Promise<Pair> {
  // Both must be the actor's to see before anything is said about either.
  const rows = await Promise.all([id, otherId].map(async (jobId) => {
    const row = await visibleRow(deps, actor, jobId)
    if (row === undefined) throw jobNotFound(jobId)
    return row
  }))
  const a = await jobItems(deps, actor, id, rows[0])
  const b = await jobItems(deps, actor, otherId, rows[1])
  if (a.row.kind !== b.row.kind) {
    throw conflict('RUNS_NOT_COMPARABLE', `Job ${id} is a ${a.row.kind} job and job ${otherId} a ${b.row.kind} job; only two runs of one kind compare`)
  }
  const comparison = a.items.comparison
  if (comparison === undefined) throw conflict('RUNS_NOT_COMPARABLE', `${a.row.kind} jobs do not compare run against run`)
  const why = comparison.mismatch(a.input(), b.input())
  if (why !== undefined) {
    throw conflict('RUNS_NOT_COMPARABLE', `Jobs ${id} and ${otherId} are not two runs of one dataset (same prompts, by index and text): ${why}`)
  }
  return { a, b, comparison }
}

const flipView = (p: Pair, f: { index: number, outcome: string | null, data: unknown, otherOutcome: string | null, otherData: unknown }): FlipView => {
  const outcome = f.outcome ?? p.a.items.outcomeOf(f.data)
  const otherOutcome = f.otherOutcome ?? p.b.items.outcomeOf(f.otherData)
  return { index: f.index, outcome, otherOutcome, item: p.a.items.view(f.index, f.data, outcome, p.a.input), otherItem: p.b.items.view(f.index, f.otherData, otherOutcome, p.b.input) }
}

const round = (n: number) => Math.round(n * 1e9) / 1e9

/**
 * Two runs of one dataset side by side: each run's figures and their differences (other − this),
 * how many items moved between outcomes, and a page of the flips.
 */
export async function compareRuns (deps: ItemsDeps, actor: Actor, id: string, otherId: string, query: { cursor?: string, limit: number }): Promise<Comparison> {
  const after = parseItemCursor(query.cursor)
  const pair = await comparablePair(deps, actor, id, otherId)
  const [mine, theirs] = await Promise.all([deps.store.items.load(pair.a.row.id), deps.store.items.load(pair.b.row.id)])
  const figuresA = pair.comparison.figures(mine, pair.a.input())
  const figuresB = pair.comparison.figures(theirs, pair.b.input())
  const figures = Object.fromEntries(Object.keys({ ...figuresA, ...figuresB }).map((name) => {
    const x = figuresA[name] ?? null
    const y = figuresB[name] ?? null
    return [name, { this: x, other: y, delta: x === null || y === null ? null : round(y - x) }]
  }))
  const changes = (await deps.store.items.outcomePairs(pair.a.row.id, pair.b.row.id))
    .filter((c) => c.outcome !== null && c.otherOutcome !== null && c.outcome !== c.otherOutcome)
    .map((c) => ({ from: c.outcome!, to: c.otherOutcome!, count: c.count }))
    .sort((x, y) => x.from.localeCompare(y.from) || x.to.localeCompare(y.to))
  const flips = await deps.store.items.changed(pair.a.row.id, pair.b.row.id, { pairs: pair.comparison.flips, after, limit: query.limit + 1 })
  const page = flips.slice(0, query.limit)
  return {
    jobId: pair.a.row.id,
    otherJobId: pair.b.row.id,
    figures,
    outcomeChanges: changes,
    items: page.map((f) => flipView(pair, f)),
    nextCursor: flips.length > query.limit ? String(page[page.length - 1]!.index) : null
  }
}

/** Every flip between two runs, for a CSV export. */
export async function exportFlips (deps: ItemsDeps, actor: Actor, id: string, otherId: string): Promise<Export<FlipView>> {
  const pair = await comparablePair(deps, actor, id, otherId)
  const { store } = deps
  return {
    table: pair.comparison.table,
    rows: (async function * () {
      let after = -1
      for (;;) {
        const batch = await store.items.changed(pair.a.row.id, pair.b.row.id, { pairs: pair.comparison.flips, after, limit: PAGE })
        for (const f of batch) yield flipView(pair, f)
        if (batch.length < PAGE) return
        after = batch[batch.length - 1]!.index
      }
    })()
  }
}

/** A job's result as one table (its kind's `resultTable`), for `?format=csv`. */
export async function resultTable (deps: ItemsDeps, actor: Actor, id: string): Promise<{ columns: string[], rows: Cell[][] }> {
  const row = await visibleRow(deps, actor, id)
  if (row === undefined) throw jobNotFound(id)
  const kind = deps.kinds.get(row.kind)
  if (kind?.resultTable === undefined) {
    const tabular = [...deps.kinds.values()].filter((k) => k.resultTable !== undefined).map((k) => k.name)
    throw conflict('RESULT_NOT_A_TABLE', `A ${row.kind} job's result is not a table${tabular.length === 0 ? '' : ` (CSV serves ${tabular.join(', ')} results)`}; read it as JSON without format`)
  }
  if (row.result === null) throw conflict('RESULT_NOT_READY', `Job ${id} has no result yet (status ${row.status}); ask again once it has ended`)
  return kind.resultTable(JSON.parse(row.result))
}

/** A job's result as JSON: refused, in words, while there is none. */
export async function jobResult (deps: ItemsDeps, actor: Actor, id: string): Promise<unknown> {
  const row = await visibleRow(deps, actor, id)
  if (row === undefined) throw jobNotFound(id)
  if (row.result === null) {
    throw conflict('RESULT_NOT_READY', `Job ${id} has no result${row.status === 'failed' || row.status === 'cancelled' || row.status === 'timed_out' ? ` (it ended ${row.status}; its error says why)` : ` yet (status ${row.status}); ask again once it has ended`}`)
  }
  return JSON.parse(row.result) as unknown
}
