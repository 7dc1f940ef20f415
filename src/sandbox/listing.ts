// Genesys's paged entity listing: one page of the matching entities, with the page links every
// list endpoint of the Platform API carries (next and previous only where such a page exists).
export function entityListing<T> (matching: readonly T[], pageNumber: number, pageSize: number, uri: (page: number) => string) {
  const pageCount = Math.ceil(matching.length / pageSize)
  return {
    entities: matching.slice((pageNumber - 1) * pageSize, pageNumber * pageSize),
    pageSize,
    pageNumber,
    total: matching.length,
    pageCount,
    firstUri: uri(1),
    selfUri: uri(pageNumber),
    lastUri: uri(Math.max(pageCount, 1)),
    ...(pageNumber < pageCount ? { nextUri: uri(pageNumber + 1) } : {}),
    ...(pageNumber > 1 ? { previousUri: uri(pageNumber - 1) } : {})
  }
}

/** Every value of a query parameter that may repeat (`id=a&id=b`). */
export const allOf = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value])

/** A page size or number: `fallback` when absent, undefined when not a whole number ≥ 1. */
export function positiveInt (raw: string | string[] | undefined, fallback: number): number | undefined {
  if (raw === undefined) return fallback
  if (typeof raw !== 'string' || !/^\d{1,9}$/.test(raw)) return undefined
  const n = Number(raw)
  return n >= 1 ? n : undefined
}
