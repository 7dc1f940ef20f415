import type { Genesys, GenesysApis } from '../../clients/genesys/index.ts'
import type { JobView } from '../kind.ts'

/** What job kinds are built from: one set per app, so caches and clients are shared by its kinds. */
export interface KindDeps {
  /**
   * The Genesys client, reachable only under a job's share (`genesysOf`): every request a job
   * makes queues under its team, id and priority, so the pacer shares the budget fairly.
   */
  genesys: Pick<Genesys, 'forShare'>
  now: () => number
  /** How Genesys reaches this service, for the webhook URLs it is given. */
  publicBaseUrl: () => string
}

/** The Genesys operations of one job: its requests wait their team's and their job's turn at the pacer. */
export function genesysOf (deps: KindDeps, job: Pick<JobView<unknown>, 'id' | 'team' | 'priority'>): GenesysApis {
  return deps.genesys.forShare({ team: job.team, job: job.id, priority: job.priority })
}
