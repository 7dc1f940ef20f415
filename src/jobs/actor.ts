/**
 * Who acts on jobs: an API key's name and its team. Jobs, their timelines, items and idempotency
 * keys belong to the submitting team; `admin` (the `jobs:admin` scope) reaches every team's.
 */
export interface Actor {
  key: string
  team: string
  admin: boolean
}

/** The caller of a service that runs open (no API keys): one team, which sees everything. */
export const OPEN_ACTOR: Actor = Object.freeze({ key: 'anonymous', team: 'anonymous', admin: true })

export const canSee = (actor: Actor, team: string): boolean => actor.admin || actor.team === team

/** How an actor is written on a timeline entry or in an audit record's details. */
export const actorRecord = (actor: Actor): { key: string, team: string } => ({ key: actor.key, team: actor.team })
