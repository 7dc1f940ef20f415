import type { Genesys } from '../../clients/genesys/index.ts'
import type { JobKind } from '../kind.ts'
import { createActionServices } from './action-services.ts'
import { createDataActionKind } from './data-action.ts'
import { createCustomCodeKind } from './custom-code.ts'
import { createFlowExecutionKind } from './flow-execution.ts'
import { createRoutingEvaluationKind } from './routing-evaluation.ts'
import { createLlmEvaluationKind } from './llm-evaluation.ts'

/** What job kinds are built from: one set per app, so caches and clients are shared by its kinds. */
export interface KindDeps {
  genesys: Genesys
  now: () => number
  /** How Genesys reaches this service, for the webhook URLs it is given. */
  publicBaseUrl: () => string
}

export type KindsFactory = (deps: KindDeps) => readonly JobKind[]

/** Every job kind the service offers; each lives in its own module beside this file. */
export const defaultKinds: KindsFactory = (deps) => {
  const actions = createActionServices(deps.genesys)
  return [
    createDataActionKind(deps, actions),
    createCustomCodeKind(deps, actions),
    createFlowExecutionKind(deps),
    createRoutingEvaluationKind(deps),
    createLlmEvaluationKind(deps, actions)
  ] as unknown as readonly JobKind[]
}
