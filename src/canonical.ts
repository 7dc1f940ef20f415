import { createHash } from 'node:crypto'
import canonicalize from 'canonicalize'

/** RFC 8785 canonical JSON: the same value always gives the same bytes, so hashes are stable. */
export function canonicalJson (value: unknown): string {
  return canonicalize(value) ?? 'null'
}

export function sha256Hex (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}
