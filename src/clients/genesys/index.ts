import { createGenesysClient, type GenesysClientOptions, type GenesysRequester } from './client.ts'
import { integrationsApi } from './integrations.ts'
import { flowsApi } from './flows.ts'
import { analyticsApi } from './analytics.ts'
import { llmGatewayApi } from './llm-gateway.ts'
import { routingApi } from './routing.ts'
import type { Share } from './fair-queue.ts'

export { GenesysError } from './errors.ts'
export { resolveHosts } from './hosts.ts'
export type { GenesysClientOptions } from './client.ts'
export { PRIORITY_WEIGHT, SERVICE_SHARE, type Priority, type Share } from './fair-queue.ts'

/** Every Genesys operation the job kinds use, one module per API area, over one requester. */
function apis (requester: GenesysRequester) {
  return {
    integrations: integrationsApi(requester),
    flows: flowsApi(requester),
    analytics: analyticsApi(requester),
    routing: routingApi(requester),
    llm: llmGatewayApi(requester)
  }
}

export type GenesysApis = ReturnType<typeof apis>

/**
 * One shared client (one token, one pacer) and its operations. Called directly, they queue as the
 * service's own requests; `forShare` gives them under a job's share, which is how every job's
 * requests reach the pacer, so the budget is shared fairly across teams and jobs.
 */
export function createGenesys (options: GenesysClientOptions) {
  const client = createGenesysClient(options)
  return {
    client,
    ...apis(client),
    forShare (share: Share): GenesysApis {
      return apis(client.sharedAs(share))
    }
  }
}

export type Genesys = ReturnType<typeof createGenesys>
