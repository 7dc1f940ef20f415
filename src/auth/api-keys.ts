import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'

export const SCOPES = ['jobs:read', 'jobs:write', 'jobs:admin', 'schedules:read', 'schedules:write', 'audit:read', 'metrics:read'] as const
export type Scope = typeof SCOPES[number]

const KeyEntry = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@-]+$' }),
  team: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@-]+$' })),
  key: Type.Optional(Type.String({ minLength: 16, maxLength: 512 })),
  keySha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
  scopes: Type.Array(Type.Enum([...SCOPES]), { minItems: 1, uniqueItems: true })
}, { additionalProperties: false })
const KeyList = Type.Array(KeyEntry, { maxItems: 1000 })

export interface ApiKey {
  name: string
  /** The team whose jobs the key sees and acts on; the key's name when none is configured. */
  team: string
  digest: Buffer
  scopes: ReadonlySet<Scope>
}

const digestOf = (key: string) => createHash('sha256').update(key, 'utf8').digest()

/**
 * Reads `[{ name, key | keySha256, scopes }]`. Raw keys are hashed at once and never kept, so an
 * operator may hand over only the sha256 of each key.
 */
export function parseApiKeys (json: string, source: string): ApiKey[] {
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch {
    throw new Error(`${source} is not valid JSON: expected [{ "name", "key" or "keySha256", "scopes": [...] }]`)
  }
  if (!Value.Check(KeyList, raw)) {
    const first = [...Value.Errors(KeyList, raw)][0]
    throw new Error(`${source} is invalid at ${first?.instancePath || '/'}: ${first?.message ?? 'unexpected shape'} (each entry: name, key (16+ characters) or keySha256, team (optional), scopes from ${SCOPES.join(', ')})`)
  }
  const entries = raw as Array<Static<typeof KeyEntry>>
  const names = new Set<string>()
  const digests = new Map<string, string>()
  return entries.map((entry, i) => {
    if ((entry.key === undefined) === (entry.keySha256 === undefined)) throw new Error(`${source}[${i}] (${entry.name}) needs exactly one of key and keySha256`)
    if (names.has(entry.name)) throw new Error(`${source}[${i}]: the name ${entry.name} is used twice`)
    names.add(entry.name)
    const digest = entry.key !== undefined ? digestOf(entry.key) : Buffer.from(entry.keySha256!.toLowerCase(), 'hex')
    // Two names for one key: a caller could not tell which scopes it gets, nor the audit log who it was.
    const twin = digests.get(digest.toString('hex'))
    if (twin !== undefined) throw new Error(`${source}[${i}] (${entry.name}) has the same key as ${twin}; give each caller its own key`)
    digests.set(digest.toString('hex'), entry.name)
    return { name: entry.name, team: entry.team ?? entry.name, digest, scopes: new Set(entry.scopes) }
  })
}

export function loadApiKeys (config: { API_KEYS?: string, API_KEYS_FILE?: string }): ApiKey[] {
  if (config.API_KEYS !== undefined) return parseApiKeys(config.API_KEYS, 'API_KEYS')
  if (config.API_KEYS_FILE !== undefined) {
    let text: string
    try {
      text = readFileSync(config.API_KEYS_FILE, 'utf8')
    } catch (err) {
      throw new Error(`API_KEYS_FILE ${config.API_KEYS_FILE} cannot be read: ${(err as Error).message}`)
    }
    return parseApiKeys(text, `API_KEYS_FILE ${config.API_KEYS_FILE}`)
  }
  return []
}

/**
 * Finds the key a bearer token belongs to. Every configured digest is compared, in constant time,
 * so neither the match's position nor a near miss shows in the timing.
 */
export function findKey (keys: readonly ApiKey[], presented: string): ApiKey | undefined {
  const digest = digestOf(presented)
  let found: ApiKey | undefined
  for (const key of keys) {
    if (timingSafeEqual(key.digest, digest) && found === undefined) found = key
  }
  return found
}
