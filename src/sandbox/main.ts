import { startSandbox } from './index.ts'

/** `npm run sandbox`: the Genesys stand-in on its own, for running the service against by hand. */
function port (raw: string | undefined): number {
  const value = Number(raw ?? 4010)
  if (!Number.isInteger(value) || value < 0 || value > 65_535) throw new RangeError(`SANDBOX_PORT must be an integer from 0 to 65535, got '${raw}'`)
  return value
}

const env = process.env
const clientId = env.SANDBOX_CLIENT_ID ?? 'sandbox-client'
const clientSecret = env.SANDBOX_CLIENT_SECRET ?? 'sandbox-secret'
const sandbox = await startSandbox({
  host: env.SANDBOX_HOST ?? '127.0.0.1',
  port: port(env.SANDBOX_PORT),
  clientId,
  clientSecret,
  webhooks: {
    flowEventsUrl: env.SANDBOX_FLOW_EVENTS_URL,
    flowEventsSecret: env.SANDBOX_FLOW_EVENTS_SECRET,
    signingSecret: env.SANDBOX_SIGNING_SECRET
  }
})
// The sandbox's credentials are not secrets: printing them is how a developer finds them.
console.log(`Genesys sandbox listening on ${sandbox.url} (client id: ${clientId}, client secret: ${clientSecret})`)

let stopping = false
const stop = () => {
  if (stopping) return
  stopping = true
  sandbox.close().then(() => process.exit(0), (error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
