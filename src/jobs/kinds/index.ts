import type { JobKind } from '../kind.ts'
import type { KindDeps } from './deps.ts'
import { createActionServices } from './action-services.ts'
import { createDataActionKind } from './data-action.ts'
import { createCustomCodeKind } from './custom-code.ts'
import { createFlowExecutionKind } from './flow-execution.ts'
import { createRoutingEvaluationKind } from './routing-evaluation.ts'
import { createLlmEvaluationKind } from './llm-evaluation.ts'

export { genesysOf, type KindDeps } from './deps.ts'

export type KindsFactory = (deps: KindDeps) => readonly JobKind[]

/**
 * The registry: every job kind the service offers, each in its own module beside this file (its
 * body, steps, receivers, metrics and examples). Adding a kind is its module and one line here.
 */
export const defaultKinds: KindsFactory = (deps) => {
  const actions = createActionServices()
  return [
    createDataActionKind(deps, actions),
    createCustomCodeKind(deps, actions),
    createFlowExecutionKind(deps),
    createRoutingEvaluationKind(deps),
    createLlmEvaluationKind(deps, actions)
  ] as unknown as readonly JobKind[]
}
