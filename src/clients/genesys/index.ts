import { createGenesysClient, type GenesysClientOptions } from './client.ts'
import { integrationsApi } from './integrations.ts'
import { flowsApi } from './flows.ts'
import { analyticsApi } from './analytics.ts'
import { llmGatewayApi } from './llm-gateway.ts'
import { routingApi } from './routing.ts'

export { GenesysError } from './errors.ts'
export { resolveHosts } from './hosts.ts'
export type { GenesysClientOptions } from './client.ts'

/** Every Genesys operation the job kinds use, one module per API area, over one shared client. */
export function createGenesys (options: GenesysClientOptions) {
  const client = createGenesysClient(options)
  return {
    client,
    integrations: integrationsApi(client),
    flows: flowsApi(client),
    analytics: analyticsApi(client),
    routing: routingApi(client),
    llm: llmGatewayApi(client)
  }
}

export type Genesys = ReturnType<typeof createGenesys>
