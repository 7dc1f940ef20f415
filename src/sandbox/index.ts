export { startSandbox, type Sandbox } from './server.ts'
export type { Faults, RateLimit, SandboxOptions, Timing, WebhookSettings } from './options.ts'
export type { LogEntry, SandboxStats, WebhookDelivery } from './stats.ts'
export { SANDBOX_FIXTURES } from './fixtures.ts'
