import { Type, type Static, type TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { isIP } from 'node:net'
import { loadApiKeys } from './auth/api-keys.ts'

const Int = (opts: { default: number, minimum: number, maximum?: number, description: string }) =>
  Type.Integer(opts)

export const ConfigSchema = Type.Object({
  NODE_ENV: Type.Enum(['development', 'production', 'test'], {
    default: 'development', description: 'Runtime environment'
  }),
  TRUST_PROXY: Type.Optional(Type.String({
    minLength: 1, description: 'Behind a reverse proxy: true, a hop count, or comma-separated proxy addresses/CIDRs whose X-Forwarded-For is trusted'
  })),
  ROLE: Type.Enum(['all', 'api', 'worker'], {
    default: 'all', description: 'What this replica does: all, api (HTTP only, no workers) or worker (workers, health and metrics only)'
  }),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1, description: 'Address the HTTP server binds to' }),
  PORT: Int({ default: 3000, minimum: 0, maximum: 65535, description: 'TCP port of the HTTP server' }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info', description: 'pino log level'
  }),
  DATABASE_URL: Type.Optional(Type.String({
    pattern: '^postgres(ql)?://', description: 'PostgreSQL connection string; when unset, SQLite is used'
  })),
  SQLITE_PATH: Type.String({ default: './data/orchestrator.db', minLength: 1, description: 'SQLite database file' }),
  WORKER_CONCURRENCY: Int({ default: 16, minimum: 1, maximum: 512, description: 'Jobs one process runs at once' }),
  WORKER_POLL_MS: Int({
    default: 1000, minimum: 10, maximum: 60_000, description: 'Longest idle wait before a worker looks for due jobs again'
  }),
  LEASE_MS: Int({ default: 30_000, minimum: 500, maximum: 3_600_000, description: 'How long a claimed job stays owned without renewal' }),
  STEP_MAX_ATTEMPTS: Int({ default: 5, minimum: 1, maximum: 100, description: 'Tries of one step before its job fails' }),
  JOB_MAX_DURATION_MS: Int({
    default: 86_400_000, minimum: 1000, maximum: 30 * 86_400_000, description: 'Deadline of a job whose kind sets none'
  }),
  IDEMPOTENCY_TTL_HOURS: Int({ default: 24, minimum: 24, maximum: 24 * 30, description: 'How long Idempotency-Key answers are kept' }),
  RETENTION_DAYS: Int({
    default: 90, minimum: 0, maximum: 36_500, description: 'Terminal jobs (with their timelines, items, keys, webhook events and callbacks) and audit records older than this many days are pruned, the audit records archived first; 0 keeps everything'
  }),
  RETENTION_INTERVAL_MINUTES: Int({ default: 60, minimum: 1, maximum: 10_080, description: 'How often one replica prunes what RETENTION_DAYS no longer keeps' }),
  RETENTION_BATCH_SIZE: Int({ default: 200, minimum: 1, maximum: 10_000, description: 'Jobs pruned per transaction (small batches never hold the database long)' }),
  RETENTION_BATCH_PAUSE_MS: Int({
    default: 0, minimum: 0, maximum: 60_000, description: 'Pause between two write batches of a retention pass; 0 leaves only a turn of the event loop (raise it when requests share a busy database with the pass)'
  }),
  AUDIT_ARCHIVE_DIR: Type.String({ default: './data/audit-archive', minLength: 1, description: 'Where audit records are archived (gzip JSON Lines) before retention removes them from the database' }),
  GENESYS_REGION: Type.Optional(Type.String({
    pattern: '^[a-z0-9.-]+\\.[a-z]{2,}$', description: 'Genesys Cloud region domain, e.g. mypurecloud.com or usw2.pure.cloud'
  })),
  GENESYS_API_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'API base URL; overrides the region' })),
  GENESYS_LOGIN_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'Login (token) base URL; overrides the region' })),
  GENESYS_CLIENT_ID: Type.Optional(Type.String({ minLength: 1, description: 'OAuth client id (client credentials); unset runs against the sandbox' })),
  GENESYS_CLIENT_SECRET: Type.Optional(Type.String({ minLength: 1, description: 'OAuth client secret' })),
  GENESYS_RATE_LIMIT_PER_MINUTE: Int({ default: 300, minimum: 1, maximum: 100_000, description: 'Requests per minute per token' }),
  GENESYS_CONCURRENCY: Int({ default: 10, minimum: 1, maximum: 200, description: 'Genesys requests in flight at once' }),
  GENESYS_TIMEOUT_MS: Int({ default: 30_000, minimum: 1000, maximum: 300_000, description: 'Default timeout of one Genesys request' }),
  GENESYS_RETRIES: Int({
    default: 6, minimum: 0, maximum: 10, description: 'Tries after the first of one Genesys call that failed transiently and is safe to repeat'
  }),
  GENESYS_RETRY_BASE_MS: Int({
    default: 200, minimum: 1, maximum: 10_000, description: 'First wait between those tries; it doubles each time, up to 10 s'
  }),
  GENESYS_MAX_RETRY_AFTER_MS: Int({ default: 180_000, minimum: 1000, maximum: 3_600_000, description: 'Longest pause a 429 Retry-After may impose' }),
  WEBHOOK_SECRET: Type.Optional(Type.String({
    minLength: 16, description: 'Shared secret Genesys-side senders put in the X-Webhook-Secret header (at least 16 characters); several, separated by spaces, while rotating'
  })),
  WEBHOOK_SIGNING_SECRET: Type.Optional(Type.String({
    pattern: '^whsec_', description: 'Standard Webhooks secret (whsec_ and the base64 of 24 to 64 random bytes) to verify webhook-signature headers with'
  })),
  WEBHOOK_REQUIRE_SIGNATURE: Type.Boolean({ default: false, description: 'Refuse inbound webhooks that carry no Standard Webhooks signature' }),
  PUBLIC_BASE_URL: Type.Optional(Type.String({
    pattern: '^https?://', description: 'How Genesys reaches this service (for webhook URLs it is given), e.g. https://orchestrator.example.com'
  })),
  CALLBACK_SIGNING_SECRET: Type.Optional(Type.String({
    pattern: '^whsec_', description: 'Standard Webhooks secret (whsec_ and the base64 of 24 to 64 random bytes) that signs completion callbacks; required in production'
  })),
  CALLBACK_ALLOWED_HOSTS: Type.Optional(Type.String({ minLength: 1, description: 'Comma-separated host names callbacks may go to; unset allows any public host' })),
  CALLBACK_ALLOW_HTTP: Type.Boolean({ default: false, description: 'Allow plain http callback URLs' }),
  CALLBACK_ALLOW_PRIVATE_NETWORKS: Type.Boolean({ default: false, description: 'Allow callbacks to loopback, private and link-local addresses' }),
  CALLBACK_TIMEOUT_MS: Int({ default: 15_000, minimum: 1000, maximum: 60_000, description: 'How long one callback attempt may take' }),
  CALLBACK_BACKOFF_SCALE: Type.Number({ default: 1, minimum: 0.0001, maximum: 1, description: 'Shrinks the callback retry schedule (tests); 1 in production' }),
  API_KEYS: Type.Optional(Type.String({ minLength: 2, description: 'JSON array of { name, key | keySha256, scopes } for callers' })),
  API_KEYS_FILE: Type.Optional(Type.String({ minLength: 1, description: 'File holding the API_KEYS JSON instead' })),
  AUTH_FAILURES_PER_MINUTE: Int({
    default: 30, minimum: 1, maximum: 100_000, description: 'Failed authentications (wrong API key, webhook secret or signature) one client address may make per minute before it gets 429s'
  }),
  RATE_LIMIT_PER_MINUTE: Int({ default: 1200, minimum: 1, maximum: 1_000_000, description: 'Requests per minute per caller (per API key, or per address when open)' }),
  SHUTDOWN_GRACE_MS: Int({
    default: 4000, minimum: 0, maximum: 600_000, description: 'How long shutdown waits for running steps before releasing them'
  })
}, { additionalProperties: true })

export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {
  readonly variable: string
  constructor (variable: string, message: string) {
    super(message)
    this.name = 'ConfigError'
    this.variable = variable
  }
}

function describeAccepted (schema: TSchema & Record<string, unknown>): string {
  if (Array.isArray(schema.enum)) return 'one of ' + schema.enum.join(', ')
  if (schema.type === 'integer') {
    const max = schema.maximum === undefined ? '' : ` to ${schema.maximum}`
    return `an integer from ${schema.minimum}${max}`
  }
  if (schema.type === 'boolean') return 'true or false'
  if (schema.type === 'number') return `a number from ${schema.minimum} to ${schema.maximum}`
  if (typeof schema.pattern === 'string') return `a string matching ${schema.pattern}`
  if (typeof schema.minLength === 'number' && schema.minLength > 1) return `a string of at least ${schema.minLength} characters`
  return 'a non-empty string'
}

/** Variables whose values are never repeated in an error message (it may reach a log). */
const SENSITIVE = new Set(['WEBHOOK_SECRET', 'WEBHOOK_SIGNING_SECRET', 'CALLBACK_SIGNING_SECRET', 'GENESYS_CLIENT_SECRET', 'API_KEYS', 'DATABASE_URL'])
const shown = (variable: string, value: string | undefined) => (SENSITIVE.has(variable) ? '(value hidden)' : JSON.stringify(value ?? ''))
const properties = ConfigSchema.properties as unknown as Record<string, TSchema & Record<string, unknown>>

/**
 * What a number must look like as written: plain decimal digits. Type conversion alone would read
 * `3733.5`, `0x0e9d` or `1e3` as some integer and start on a port nobody asked for.
 */
const WRITTEN: Partial<Record<string, RegExp>> = { integer: /^\d+$/, number: /^\d+(\.\d+)?$/, boolean: /^(true|false)$/ }

function invalid (variable: string, raw: string | undefined, accepted: string): ConfigError {
  return new ConfigError(variable, `Invalid ${variable}=${shown(variable, raw)}: expected ${accepted} (${properties[variable]?.description ?? ''}).`)
}

/** Reads the environment once, applies defaults, and says exactly which variable is wrong. */
export function loadConfig (env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, string> = {}
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key]
    if (value !== undefined && value !== '') raw[key] = value
  }
  for (const [variable, text] of Object.entries(raw)) {
    const schema = properties[variable]!
    const form = WRITTEN[String(schema.type)]
    if (form !== undefined && !form.test(text)) throw invalid(variable, text, `${describeAccepted(schema)}, written ${schema.type === 'boolean' ? 'as true or false' : 'in decimal digits'}`)
  }
  const value = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, raw)) as Record<string, unknown>
  const first = [...Value.Errors(ConfigSchema, value)][0]
  if (first !== undefined) {
    const variable = first.instancePath.split('/')[1] ?? ''
    const schema = properties[variable]
    throw invalid(variable, raw[variable], schema === undefined ? first.message : describeAccepted(schema))
  }
  const config = value as Config
  checkValues(config)
  checkGenesysSettings(config)
  return config
}

const HOST_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/
const isHostName = (text: string) => isIP(text) !== 0 || HOST_NAME.test(text)

/** A Standard Webhooks secret: whsec_ and the base64 of 24 to 64 random bytes. */
function checkWhsec (variable: string, secret: string | undefined): void {
  if (secret === undefined) return
  const encoded = secret.slice('whsec_'.length)
  const bytes = Buffer.from(encoded, 'base64')
  if (bytes.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '') || bytes.length < 24 || bytes.length > 64) {
    throw new ConfigError(variable, `Invalid ${variable}=(value hidden): after whsec_ it must be the base64 of 24 to 64 random bytes (it decodes to ${bytes.length} bytes${bytes.toString('base64').replace(/=+$/, '') === encoded.replace(/=+$/, '') ? '' : ' and is not valid base64'}); make one with: echo "whsec_$(openssl rand -base64 32)".`)
  }
}

/** Rules that need more than the schema: lists and secrets are checked item by item. */
function checkValues (config: Config): void {
  if (!isHostName(config.HOST)) throw invalid('HOST', config.HOST, 'an IP address or a host name (letters, digits, dots and hyphens), e.g. 0.0.0.0 or ::')
  if (config.WEBHOOK_SECRET !== undefined) {
    const secrets = config.WEBHOOK_SECRET.split(/\s+/).filter((s) => s !== '')
    const short = secrets.findIndex((s) => s.length < 16)
    if (short >= 0) {
      throw new ConfigError('WEBHOOK_SECRET', `Invalid WEBHOOK_SECRET=(value hidden): secret ${short + 1} of ${secrets.length} is ${secrets[short]!.length} characters long; each must be at least 16 (several are separated by spaces while rotating; make one with openssl rand -base64 32).`)
    }
    if (new Set(secrets).size !== secrets.length) throw new ConfigError('WEBHOOK_SECRET', 'Invalid WEBHOOK_SECRET=(value hidden): the same secret is given twice; list each secret once.')
  }
  checkWhsec('WEBHOOK_SIGNING_SECRET', config.WEBHOOK_SIGNING_SECRET)
  checkWhsec('CALLBACK_SIGNING_SECRET', config.CALLBACK_SIGNING_SECRET)
  if (config.CALLBACK_ALLOWED_HOSTS !== undefined) {
    const hosts = config.CALLBACK_ALLOWED_HOSTS.split(',').map((h) => h.trim())
    const empty = hosts.findIndex((h) => h === '')
    if (empty >= 0) throw invalid('CALLBACK_ALLOWED_HOSTS', config.CALLBACK_ALLOWED_HOSTS, `comma-separated host names with none empty (item ${empty + 1} of ${hosts.length} is empty)`)
    const bad = hosts.find((h) => !isHostName(h))
    if (bad !== undefined) throw invalid('CALLBACK_ALLOWED_HOSTS', config.CALLBACK_ALLOWED_HOSTS, `comma-separated host names (${JSON.stringify(bad)} is not one: no scheme, port or path)`)
  }
  if (config.RETENTION_DAYS > 0 && config.RETENTION_DAYS * 24 < config.IDEMPOTENCY_TTL_HOURS) {
    throw invalid('RETENTION_DAYS', String(config.RETENTION_DAYS), `0, or at least ${Math.ceil(config.IDEMPOTENCY_TTL_HOURS / 24)} (IDEMPOTENCY_TTL_HOURS is ${config.IDEMPOTENCY_TTL_HOURS}: an Idempotency-Key must not be pruned with its job before it expires)`)
  }
  if (config.API_KEYS !== undefined && config.API_KEYS_FILE !== undefined) {
    throw new ConfigError('API_KEYS_FILE', 'API_KEYS_FILE is set together with API_KEYS: set one of them, not both (which would win is not obvious).')
  }
}

/** Credentials come as a pair with somewhere to use them; without any, the sandbox stands in. */
function checkGenesysSettings (config: Config): void {
  const hasId = config.GENESYS_CLIENT_ID !== undefined
  if (hasId && config.GENESYS_CLIENT_SECRET === undefined) {
    throw new ConfigError('GENESYS_CLIENT_SECRET', 'GENESYS_CLIENT_SECRET is missing: it is required with GENESYS_CLIENT_ID (the OAuth client\'s secret).')
  }
  if (hasId && config.GENESYS_REGION === undefined && (config.GENESYS_API_URL === undefined || config.GENESYS_LOGIN_URL === undefined)) {
    throw new ConfigError('GENESYS_REGION', 'GENESYS_REGION is missing: set it (e.g. mypurecloud.com) or both GENESYS_API_URL and GENESYS_LOGIN_URL.')
  }
  if (config.NODE_ENV === 'production' && config.WEBHOOK_SECRET === undefined) {
    throw new ConfigError('WEBHOOK_SECRET', 'WEBHOOK_SECRET is missing: production receivers need a shared secret of at least 16 characters (e.g. openssl rand -base64 32).')
  }
  if (config.NODE_ENV === 'production' && config.CALLBACK_SIGNING_SECRET === undefined) {
    throw new ConfigError('CALLBACK_SIGNING_SECRET', 'CALLBACK_SIGNING_SECRET is missing: production signs callbacks with a whsec_… secret (whsec_ followed by 24-64 random bytes in base64).')
  }
  if (config.WEBHOOK_REQUIRE_SIGNATURE && config.WEBHOOK_SIGNING_SECRET === undefined) {
    throw new ConfigError('WEBHOOK_SIGNING_SECRET', 'WEBHOOK_SIGNING_SECRET is missing: WEBHOOK_REQUIRE_SIGNATURE needs the whsec_… secret to verify signatures with.')
  }
  let keys
  try {
    keys = loadApiKeys(config)
  } catch (err) {
    throw new ConfigError(config.API_KEYS !== undefined ? 'API_KEYS' : 'API_KEYS_FILE', (err as Error).message)
  }
  if (keys.length === 0 && config.NODE_ENV === 'production') {
    throw new ConfigError('API_KEYS', 'API_KEYS is missing: production does not run open; set API_KEYS or API_KEYS_FILE to [{ "name", "key" | "keySha256", "scopes" }].')
  }
  if (!hasId && config.NODE_ENV === 'production') {
    throw new ConfigError('GENESYS_CLIENT_ID', 'GENESYS_CLIENT_ID is missing: production runs against a real Genesys Cloud org, not the sandbox (set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_REGION).')
  }
}
