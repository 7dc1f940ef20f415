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
