/**
 * The subset of JSON Schema that action contracts, flow input schemas and the sandbox's own
 * request bodies use. Written here rather than pulling in a validator the project does not
 * depend on directly.
 */
export interface JsonSchema {
  $schema?: string
  id?: string
  title?: string
  description?: string
  type?: JsonType | JsonType[]
  required?: string[]
  properties?: Record<string, JsonSchema>
  additionalProperties?: boolean | JsonSchema
  items?: JsonSchema
  enum?: unknown[]
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  format?: 'uuid' | 'uri'
}

type JsonType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'null'

export interface SchemaError {
  /** Dotted path of the offending value ('' for the root). */
  path: string
  kind: 'required' | 'additional' | 'type' | 'enum' | 'range' | 'format'
  message: string
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function typeOf (value: unknown): JsonType {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value as JsonType
}

function matchesType (value: unknown, type: JsonType): boolean {
  const actual = typeOf(value)
  return actual === type || (type === 'number' && actual === 'integer')
}

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`)
const label = (path: string) => (path === '' ? 'the body' : `'${path}'`)

function isUri (value: string): boolean {
  try {
    return new URL(value).protocol.length > 1
  } catch {
    return false
  }
}

export function validate (schema: JsonSchema, value: unknown, path = ''): SchemaError[] {
  const errors: SchemaError[] = []
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type]
    if (!types.some((t) => matchesType(value, t))) {
      return [{ path, kind: 'type', message: `${label(path)} must be of type ${types.join(' or ')}, got ${typeOf(value)}` }]
    }
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    errors.push({ path, kind: 'enum', message: `${label(path)} must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}` })
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errors.push({ path, kind: 'range', message: `${label(path)} must be ≥ ${schema.minimum}` })
    if (schema.maximum !== undefined && value > schema.maximum) errors.push({ path, kind: 'range', message: `${label(path)} must be ≤ ${schema.maximum}` })
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push({ path, kind: 'range', message: `${label(path)} must have at least ${schema.minLength} characters` })
    if (schema.maxLength !== undefined && value.length > schema.maxLength) errors.push({ path, kind: 'range', message: `${label(path)} must have at most ${schema.maxLength} characters` })
    if (schema.format === 'uuid' && !UUID.test(value)) errors.push({ path, kind: 'format', message: `${label(path)} must be a uuid` })
    if (schema.format === 'uri' && !isUri(value)) errors.push({ path, kind: 'format', message: `${label(path)} must be an absolute URI` })
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push({ path, kind: 'range', message: `${label(path)} must have at least ${schema.minItems} items` })
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push({ path, kind: 'range', message: `${label(path)} must have at most ${schema.maxItems} items` })
    if (schema.items !== undefined) {
      // One bad row is enough to report; a 5 000-row dataset must not produce 5 000 errors.
      for (let i = 0; i < value.length && errors.length === 0; i++) errors.push(...validate(schema.items, value[i], join(path, String(i))))
    }
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>
    for (const key of schema.required ?? []) {
      if (object[key] === undefined) errors.push({ path: join(path, key), kind: 'required', message: `${label(join(path, key))} is required` })
    }
    for (const [key, child] of Object.entries(object)) {
      const property = schema.properties?.[key]
      if (property !== undefined) {
        errors.push(...validate(property, child, join(path, key)))
      } else if (schema.additionalProperties === false) {
        errors.push({ path: join(path, key), kind: 'additional', message: `${label(join(path, key))} is not a defined property` })
      } else if (typeof schema.additionalProperties === 'object') {
        errors.push(...validate(schema.additionalProperties, child, join(path, key)))
      }
    }
  }
  return errors
}
