// JSON Schema → fast-check: bodies that follow a route's schema, then mutations that break it.
// Covers the subset the service's TypeBox schemas use: object (properties, required,
// additionalProperties, patternProperties, propertyNames, maxProperties), array (items, min/maxItems,
// uniqueItems), string (min/maxLength, pattern, format uuid/date-time/uri), integer, number
// (minimum, maximum), boolean, null, const, enum, anyOf/oneOf, and {} (any JSON value).
import fc from 'fast-check'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import app, { serverOptions } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import type { KindsFactory } from '../../src/jobs/kinds/index.ts'

export type JsonSchema = Record<string, any>

export interface PostRoute { url: string, body: JsonSchema }

/**
 * The body schema of every POST route, exactly as registered (the TypeBox objects Ajv
 * compiles, not their OpenAPI rendering), read from a throwaway app built like the service.
 */
export async function postRouteSchemas (kinds: KindsFactory, env: Record<string, string> = {}): Promise<PostRoute[]> {
  const server = Fastify(serverOptions(false))
  const routes: PostRoute[] = []
  server.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const body = (route.schema as { body?: JsonSchema } | undefined)?.body
    if (methods.includes('POST') && body !== undefined) routes.push({ url: route.url, body })
  })
  await server.register(fp(app), { config: loadConfig({ LOG_LEVEL: 'silent', SQLITE_PATH: ':memory:', GENESYS_CLIENT_ID: '', ...env }), kinds, startWorkers: false })
  await server.ready()
  await server.close()
  return routes
}

/** fast-check cannot generate lookaheads: generate from the pattern without them, keep what the real one accepts. */
function patternString (pattern: string, minLength: number, maxLength: number): fc.Arbitrary<string> {
  const real = new RegExp(pattern, 'u')
  const loose = new RegExp(pattern.replace(/\(\?[=!][^()]*\)/g, ''))
  return fc.stringMatching(loose).filter((s) => real.test(s) && s.length >= minLength && s.length <= maxLength)
}

/** Text that is awkward but well-formed: no lone surrogates, no NUL (both are known bugs, see fuzz). */
export const AWKWARD_TEXT = [
  'ü', 'ñandú', 'Ελληνικά', '日本語テキスト', '🦄🌈', '👩‍👩‍👧‍👦', 'e\u0301', '\u202eRTL override', '\ufeffBOM', 'line\u2028separator',
  'tab\tnew\nline\r', 'ＡＢＣ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '\u0007bell', '\u001b[31mred', '"quotes" and \\backslash\\', '<script>alert(1)</script>',
  "'; DROP TABLE jobs; --", '../../etc/passwd', '%00%ff', '$' + '{jndi:ldap://x}', '{{7*7}}', ' ', ''
]

function text (minLength: number, maxLength: number): fc.Arbitrary<string> {
  const fits = (s: string) => s.length >= minLength && s.length <= maxLength
  const awkward = AWKWARD_TEXT.filter(fits)
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength, maxLength }) },
    { weight: 2, arbitrary: fc.string({ minLength, maxLength, unit: 'grapheme' }).filter(fits) },
    { weight: 1, arbitrary: fc.string({ minLength, maxLength, unit: 'binary' }).map((s) => s.toWellFormed()).filter(fits) },
    { weight: 1, arbitrary: awkward.length > 0 ? fc.constantFrom(...awkward) : fc.string({ minLength, maxLength }) }
  )
}

const anyJson = (depth: number) => (depth > 4 ? fc.constant(null) : fc.jsonValue({ maxDepth: 2 }))

const CALLBACK_URLS = ['https://93.184.215.14/callback', 'https://[2606:4700::1111]/hook', 'http://127.0.0.1:9/cb', 'https://10.0.0.1/x', 'ftp://example.com/x', 'https://user:pw@1.1.1.1/x']

function stringArbitrary (schema: JsonSchema): fc.Arbitrary<string> {
  const minLength: number = schema.minLength ?? 0
  const maxLength: number = Math.min(schema.maxLength ?? 40, minLength + 40)
  switch (schema.format) {
    case 'uuid': return fc.uuid()
    // A one-month window, so intervals often pass the kinds' own checks (from < to, ≤ 30 days).
    case 'date-time': return fc.date({ min: new Date('2026-11-01T00:00:00Z'), max: new Date('2026-12-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString())
    case 'uri': return fc.oneof(fc.constantFrom(...CALLBACK_URLS), fc.webUrl({ validSchemes: ['https'] }).map((u) => u.replace(/\/\/[^/:]+/, '//example.invalid')))
  }
  if (typeof schema.pattern === 'string') return patternString(schema.pattern, minLength, schema.maxLength ?? Infinity)
  return text(minLength, maxLength)
}

function objectArbitrary (schema: JsonSchema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const properties: Record<string, JsonSchema> = schema.properties ?? {}
  const required: string[] = (schema.required ?? []).filter((k: string) => k in properties)
  // Optional properties appear one time in three, so bodies that also pass the kinds' own checks
  // (which optional fields often add) are common enough to reach the handlers.
  const absent = Symbol('absent')
  const fixed = fc.tuple(...Object.entries(properties).map(([k, sub]) => {
    const value = valid(sub, depth + 1)
    return (required.includes(k) ? value : fc.oneof({ weight: 2, arbitrary: fc.constant(absent) }, { weight: 1, arbitrary: value })).map((v) => [k, v] as const)
  })).map((entries) => Object.fromEntries(entries.filter(([, v]) => v !== absent)) as Record<string, unknown>)
  const maxKeys = Math.min(schema.maxProperties ?? 3, 3)
  const patterns = Object.entries((schema.patternProperties ?? {}) as Record<string, JsonSchema>)
  const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties as JsonSchema : undefined
  let free: fc.Arbitrary<Record<string, unknown>> = fc.constant({})
  if (patterns.length > 0) {
    const [pattern, sub] = patterns[0]!
    const key = pattern === '^.*$' ? fc.string({ maxLength: 12 }) : patternString(pattern, 0, Infinity)
    free = fc.dictionary(key, valid(sub, depth + 1), { maxKeys })
  } else if (extra !== undefined) {
    // Keys checked by `propertyNames` (labels) follow its pattern, as valid ones must.
    const names = schema.propertyNames as JsonSchema | undefined
    const key = typeof names?.pattern === 'string' ? patternString(names.pattern, names.minLength ?? 0, names.maxLength ?? Infinity) : fc.string({ maxLength: 12 })
    free = fc.dictionary(key, valid(extra, depth + 1), { maxKeys })
  }
  return fc.tuple(fixed, free).map(([f, d]) => {
    const out: Record<string, unknown> = { ...d, ...f }
    const limit = schema.maxProperties as number | undefined
    if (limit !== undefined && Object.keys(out).length > limit) {
      for (const k of Object.keys(d)) { if (Object.keys(out).length <= limit) break; if (!(k in f)) delete out[k] }
    }
    return out
  })
}

/**
 * An object schema's own `examples`, one time in three, each required property kept or (one time
 * in four) generated afresh, each optional one kept, left out or generated afresh (1 : 2 : 1).
 * Some routes take bodies whose parts only make sense together (a schedule's cron, time zone, kind
 * and that kind's body), which free generation never hits; and an example's optional parts may
 * not work everywhere (its callbackUrl's host does not resolve offline).
 */
function withExamples (schema: JsonSchema, generated: fc.Arbitrary<Record<string, unknown>>, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const examples = ((schema.examples ?? []) as unknown[]).filter(isObject)
  if (examples.length === 0) return generated
  const required = new Set<string>(schema.required ?? [])
  const changes = fc.tuple(...Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>).map(([k, sub]) => {
    const fresh = { weight: 1, arbitrary: valid(sub, depth + 1) }
    const change = required.has(k)
      ? fc.oneof({ weight: 3, arbitrary: fc.constant<unknown>(KEPT) }, fresh)
      : fc.oneof({ weight: 1, arbitrary: fc.constant<unknown>(KEPT) }, { weight: 2, arbitrary: fc.constant<unknown>(LEFT_OUT) }, fresh)
    return change.map((v) => [k, v] as const)
  }))
  const fromExample = fc.tuple(fc.constantFrom(...examples), changes).map(([example, changed]) => {
    const out = structuredClone(example)
    for (const [k, v] of changed) {
      if (v === LEFT_OUT) delete out[k]
      else if (v !== KEPT) out[k] = v
    }
    return out
  })
  return fc.oneof({ weight: 2, arbitrary: generated }, { weight: 1, arbitrary: fromExample })
}
const KEPT = Symbol('kept from the example')
const LEFT_OUT = Symbol('left out')

/** A value the schema accepts (up to what Ajv checks beyond this subset, and the kind's own rules). */
export function valid (schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  if ('const' in schema) return fc.constant(schema.const)
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum as unknown[])
  const branches = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined
  if (Array.isArray(branches)) return fc.oneof(...branches.map((b) => valid(b, depth)))
  switch (schema.type) {
    case 'object': return withExamples(schema, objectArbitrary(schema, depth), depth)
    case 'array': {
      const minLength: number = schema.minItems ?? 0
      const maxLength = Math.min(schema.maxItems ?? 3, minLength + 3)
      const item = valid(schema.items ?? {}, depth + 1)
      return schema.uniqueItems === true
        ? fc.uniqueArray(item, { minLength, maxLength, selector: (v) => JSON.stringify(v) })
        : fc.array(item, { minLength, maxLength })
    }
    case 'string': return stringArbitrary(schema)
    case 'integer': return fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 })
    case 'number': return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true, noDefaultInfinity: true })
    case 'boolean': return fc.boolean()
    case 'null': return fc.constant(null)
  }
  if (schema.properties !== undefined || schema.patternProperties !== undefined) return objectArbitrary(schema, depth)
  return anyJson(depth)
}

type Path = Array<string | number>

/** Every place in `value` with the schema that governs it, for mutations to aim at. */
export function sites (value: unknown, schema: JsonSchema, path: Path = [], out: Array<{ path: Path, schema: JsonSchema }> = []) {
  out.push({ path, schema })
  // Mutations aim at the schema's own structure; inside an already deep value there is nothing new.
  if (path.length >= 24) return out
  const branches = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined
  if (Array.isArray(branches)) {
    const fits = branches.find((b) => b.type === (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'object' ? 'object' : typeof value) &&
      (b.properties?.type?.enum === undefined || b.properties.type.enum.includes((value as { type?: unknown })?.type)))
    if (fits !== undefined) { out.pop(); sites(value, { ...fits }, path, out) }
    return out
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => sites(v, schema.items ?? {}, [...path, i], out))
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const sub = schema.properties?.[k] ?? Object.values(schema.patternProperties ?? {})[0] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : {})
      sites(v, sub as JsonSchema, [...path, k], out)
    }
  }
  return out
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

function setAt (root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value
  let node = root as Record<string | number, unknown>
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>
  node[path[path.length - 1]!] = value
  return root
}

function getAt (root: unknown, path: Path): unknown {
  let node = root as Record<string | number, unknown> | undefined
  for (const key of path) node = node?.[key] as Record<string | number, unknown> | undefined
  return node
}

/** Nested arrays/objects `depth` levels deep, built without recursion. */
export function nested (depth: number, objects: boolean): unknown {
  let v: unknown = 'bottom'
  for (let i = 0; i < depth; i++) v = objects ? { n: v } : [v]
  return v
}

export const MUTATIONS = ['drop-required', 'wrong-type', 'extra-field', 'huge-string', 'deep-nesting', 'unicode', 'bounds', 'null'] as const
export type Mutation = typeof MUTATIONS[number]

export interface MutationPlan { op: Mutation, site: number, pick: number, size: number }

const WRONG_TYPES: unknown[] = [null, true, false, 0, -1, 1.5, 1e308, -1e308, 'text', '', [], [1, 'a'], {}, { a: 1 }, '1000', 'true', 'null']
export const HUGE = [5_000, 70_000, 300_000, 1_100_000]
/** Kept under the depth at which JSON.stringify overflows the stack (a known bug, see fuzz). */
export const DEEP = [6, 40, 300, 1_500]

function boundsValue (schema: JsonSchema, pick: number): unknown {
  if (schema.type === 'integer' || schema.type === 'number') {
    const lo = schema.minimum as number | undefined
    const hi = schema.maximum as number | undefined
    const candidates = [
      lo, hi, lo === undefined ? undefined : lo - 1, hi === undefined ? undefined : hi + 1,
      lo === undefined ? undefined : lo - 0.5, hi === undefined ? undefined : hi + 0.5,
      Number.MAX_SAFE_INTEGER + 2, -Number.MAX_SAFE_INTEGER - 2, 1e21, -0, 2 ** 31, -(2 ** 31) - 1
    ].filter((v) => v !== undefined)
    return candidates[pick % candidates.length]
  }
  if (schema.type === 'string') {
    const lengths = [schema.minLength, schema.maxLength, schema.minLength === undefined ? undefined : schema.minLength - 1, schema.maxLength === undefined ? undefined : schema.maxLength + 1]
      .filter((v): v is number => typeof v === 'number' && v >= 0 && v <= 1_200_000)
    const n = lengths.length === 0 ? 0 : lengths[pick % lengths.length]!
    return (pick % 3 === 0 ? '界' : 'x').repeat(n)
  }
  if (schema.type === 'array') {
    const lengths = [schema.minItems, schema.maxItems, schema.minItems === undefined ? undefined : schema.minItems - 1, schema.maxItems === undefined ? undefined : schema.maxItems + 1]
      .filter((v): v is number => typeof v === 'number' && v >= 0)
    const n = lengths.length === 0 ? 0 : lengths[pick % lengths.length]!
    return { arrayOfLength: n }
  }
  return undefined
}

/**
 * The most a bounds-mutated array may weigh as JSON: above the largest body limit of any route
 * (64 MiB, llm-evaluation), so arrays past it still reach the 413, and far below what the test
 * process can build: an earlier huge-string mutation (1.1 MB) copied into 5 000 rows was a 5.5 GB
 * body, and building it ran the test process out of heap.
 */
export const MAX_ARRAY_BYTES = 128 * 1024 * 1024

/** Every string in `value` cut to `max` characters (not through a surrogate pair). */
function cutStrings (value: unknown, max: number): unknown {
  if (typeof value === 'string') {
    if (value.length <= max) return value
    const cut = value.slice(0, max)
    return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut
  }
  if (Array.isArray(value)) return value.map((v) => cutStrings(v, max))
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cutStrings(v, max)]))
  return value
}

/**
 * The item a bounds-mutated array of `n` repeats: `sample` itself, or with its strings cut
 * until `n` copies fit MAX_ARRAY_BYTES. The array keeps its length, the bound under test.
 */
export function fitSample (sample: unknown, n: number): unknown {
  const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v) ?? '')
  let fitted = sample
  for (let max = 1 << 20; n * bytes(fitted) > MAX_ARRAY_BYTES && max >= 1; max >>= 1) fitted = cutStrings(sample, max)
  // Heavy without long strings (keys, nesting): a plain item still tests the length.
  return n * bytes(fitted) > MAX_ARRAY_BYTES ? 'x' : fitted
}

/** Applies one mutation to a copy-in-place body; returns the (possibly replaced) root. */
export function mutate (root: unknown, schema: JsonSchema, plan: MutationPlan, filler: unknown): unknown {
  const all = sites(root, schema)
  const site = all[plan.site % all.length]!
  switch (plan.op) {
    case 'drop-required': {
      const targets = all.filter((s) => Array.isArray(s.schema.required) && s.schema.required.length > 0 && isObject(getAt(root, s.path)))
      const target = targets[plan.site % Math.max(1, targets.length)]
      if (target === undefined) return root
      const req = target.schema.required as string[]
      delete (getAt(root, target.path) as Record<string, unknown>)[req[plan.pick % req.length]!]
      return root
    }
    // A copy: later mutations change the body in place, and a shared value carried into the next
    // run could end up inside itself (a circular body).
    case 'wrong-type': return setAt(root, site.path, structuredClone(WRONG_TYPES[plan.pick % WRONG_TYPES.length]))
    case 'null': return setAt(root, site.path, null)
    case 'extra-field': {
      const objects = all.filter((s) => isObject(getAt(root, s.path)))
      const target = objects[plan.site % Math.max(1, objects.length)]
      if (target === undefined) return root
      const names = ['__proto__', 'constructor', 'extra', 'id', 'status', 'callbackUrl', '', 'x'.repeat(300), AWKWARD_TEXT[plan.pick % AWKWARD_TEXT.length]!]
      ;(getAt(root, target.path) as Record<string, unknown>)[names[plan.pick % names.length]!] = filler
      return root
    }
    case 'huge-string': {
      const n = HUGE[plan.size % HUGE.length]!
      return setAt(root, site.path, (plan.pick % 2 === 0 ? 'A' : 'Ω🦄').repeat(Math.ceil(n / (plan.pick % 2 === 0 ? 1 : 3))))
    }
    case 'deep-nesting': return setAt(root, site.path, nested(DEEP[plan.size % DEEP.length]!, plan.pick % 2 === 0))
    case 'unicode': {
      const strings = all.filter((s) => typeof getAt(root, s.path) === 'string')
      const target = strings[plan.site % Math.max(1, strings.length)] ?? site
      const current = getAt(root, target.path)
      const add = AWKWARD_TEXT[plan.pick % AWKWARD_TEXT.length]!
      return setAt(root, target.path, typeof current === 'string' ? (plan.size % 2 === 0 ? current + add : add + current) : add)
    }
    case 'bounds': {
      const bounded = all.filter((s) => ['integer', 'number', 'string', 'array'].includes(s.schema.type) &&
        ['minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems'].some((k) => k in s.schema))
      const target = bounded[plan.site % Math.max(1, bounded.length)]
      if (target === undefined) return root
      const v = boundsValue(target.schema, plan.pick)
      if (v !== null && typeof v === 'object' && 'arrayOfLength' in v) {
        const current = getAt(root, target.path)
        const n = (v as { arrayOfLength: number }).arrayOfLength
        const sample = fitSample(Array.isArray(current) && current.length > 0 ? current[0] : 'x', n)
        const items = target.schema.uniqueItems === true && typeof sample === 'string'
          ? Array.from({ length: n }, (_, i) => `${sample}-${i}`)
          : Array.from({ length: n }, () => structuredClone(sample))
        return setAt(root, target.path, items)
      }
      return setAt(root, target.path, v)
    }
  }
}

/**
 * Keeps generated text clear of two known bugs (lone surrogates; NUL on PostgreSQL), which
 * the fuzz suite reproduces in tests of their own.
 */
export function clean (value: unknown): unknown {
  const text = (s: string) => s.toWellFormed().replaceAll('\u0000', '')
  if (typeof value === 'string') return text(value)
  if (Array.isArray(value)) return value.map(clean)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [text(k), clean(v)]))
  return value
}

/** A body for `schema`: valid, or valid then broken by one to three mutations. */
export function bodyArbitrary (schema: JsonSchema): fc.Arbitrary<{ body: unknown, mutations: Mutation[] }> {
  const plan = fc.record({ op: fc.constantFrom(...MUTATIONS), site: fc.nat(), pick: fc.nat(), size: fc.nat() })
  return fc.tuple(valid(schema), fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 3, arbitrary: fc.array(plan, { minLength: 1, maxLength: 3 }) }), anyJson(0))
    .map(([value, plans, filler]) => {
      let body = clean(value)
      for (const p of plans) body = mutate(body, schema, p, clean(filler))
      return { body, mutations: plans.map((p) => p.op) }
    })
}
