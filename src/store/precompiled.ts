import type { Compilable, CompiledQuery, QueryResult } from 'kysely'
import type { Connection } from './schema.ts'

/**
 * Statements of the hot paths (a submission, an inbound webhook) compiled by Kysely once and then
 * run with fresh parameters: building and compiling a query (with the CamelCase plugin's walk of
 * its tree) cost about as much as running it on SQLite. The builder is called once with
 * placeholders; each parameter that is a placeholder is replaced by the argument it stands for,
 * every other parameter (a constant of the statement) is kept.
 */
const PLACEHOLDER = '\u0000precompiled:'

/** The placeholder for argument `index`, to pass to the builder where that argument goes. */
const slot = (index: number): string => `${PLACEHOLDER}${index}`

export interface Precompiled<A extends readonly unknown[]> {
  run<R = unknown> (db: Connection, ...args: A): Promise<QueryResult<R>>
}

/**
 * `build` receives one placeholder per argument and returns the query; it must put each argument
 * only where a value goes (never in a column name or an operator) and must not branch on them.
 */
export function precompiled<A extends readonly unknown[]> (arity: A['length'], build: (db: Connection, ...placeholders: string[]) => Compilable): Precompiled<A> {
  // Per database adapter: a process may hold a SQLite and a PostgreSQL store at once (tests do).
  const byAdapter = new WeakMap<object, { query: CompiledQuery, slots: Array<number | undefined> }>()
  return {
    async run<R> (db: Connection, ...args: A): Promise<QueryResult<R>> {
      const adapter = db.getExecutor().adapter
      let compiled = byAdapter.get(adapter)
      if (compiled === undefined) {
        const query = build(db, ...Array.from({ length: arity }, (_, i) => slot(i))).compile()
        const slots = query.parameters.map((p) => typeof p === 'string' && p.startsWith(PLACEHOLDER) ? Number(p.slice(PLACEHOLDER.length)) : undefined)
        compiled = { query, slots }
        byAdapter.set(adapter, compiled)
        prepareOnPostgres(query.sql)
      }
      const { slots, query } = compiled
      const parameters = query.parameters
      const values = new Array<unknown>(parameters.length)
      for (let i = 0; i < values.length; i++) {
        const s = slots[i]
        values[i] = s === undefined ? parameters[i] : args[s]
      }
      return await db.executeQuery<R>({ ...query, parameters: values } as CompiledQuery<R>)
    }
  }
}

/**
 * A single-row INSERT of whatever columns the row has (undefined ones left out, as Kysely does),
 * compiled once per set of columns.
 */
export function precompiledInsert<T extends string> (table: T, tail?: (query: any) => any) {
  const byColumns = new Map<string, { columns: string[], statement: Precompiled<unknown[]> }>()
  return async (db: Connection, row: Record<string, unknown>): Promise<QueryResult<unknown>> => {
    const present = Object.keys(row).filter((c) => row[c] !== undefined)
    const key = present.join(',')
    let entry = byColumns.get(key)
    if (entry === undefined) {
      const columns = present
      entry = {
        columns,
        statement: precompiled(columns.length, (conn, ...p) => {
          const query = (conn as any).insertInto(table).values(Object.fromEntries(columns.map((c, i) => [c, p[i]])))
          return tail === undefined ? query : tail(query)
        })
      }
      byColumns.set(key, entry)
    }
    return await entry.statement.run(db, ...entry.columns.map((c) => row[c]))
  }
}

/**
 * SQL texts of the hot paths that PostgreSQL keeps as named prepared statements on each
 * connection (parsed and planned once per connection, instead of once per execution): the
 * statements above, the claim and the fenced writes. Bounded: only texts registered here.
 */
const preparedTexts = new Map<string, string>()

/**
 * A statement whose result columns come from a `*` is never kept prepared: once a migration adds
 * a column (a rolling deploy), PostgreSQL refuses to run such a prepared statement ("cached plan
 * must not change result type") on the connections of the processes still running.
 */
const STAR_RESULT = /select\s+\*|\.\*|returning\s+\*/i

/**
 * Registers `text` as one to run as a named prepared statement on PostgreSQL. `resultFixed`: its
 * `*` is inside (a CTE's RETURNING), not in the result, whose columns are fixed.
 */
export function prepareOnPostgres (text: string, { resultFixed = false } = {}): void {
  if (preparedTexts.has(text) || (!resultFixed && STAR_RESULT.test(text))) return
  preparedTexts.set(text, `hot_${preparedTexts.size}`)
}

/** The statement name for `text`, if it is one of the hot texts. */
export function preparedName (text: string): string | undefined {
  return preparedTexts.get(text)
}
