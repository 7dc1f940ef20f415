import type { Genesys } from '../../clients/genesys/index.ts'

/** What job kinds are built from: one set per app, so caches and clients are shared by its kinds. */
export interface KindDeps {
  genesys: Genesys
  now: () => number
  /** How Genesys reaches this service, for the webhook URLs it is given. */
  publicBaseUrl: () => string
}
