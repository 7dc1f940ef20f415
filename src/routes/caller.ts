import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { bearerSecurity, errorResponses } from '../schemas/common.ts'
import { SCOPES } from '../auth/api-keys.ts'

const CallerSchema = Type.Object({
  key: Type.String({ description: "The API key's name (`anonymous` when the service runs open)" }),
  team: Type.String({ description: "The key's team: the jobs it sees and acts on" }),
  admin: Type.Boolean({ description: 'The key has `jobs:admin`: it reads and acts on every team\'s jobs' }),
  scopes: Type.Array(Type.Enum([...SCOPES]), { description: 'What the key may do; every scope when the service runs open' }),
  open: Type.Boolean({ description: 'The service runs without API keys (never in production)' })
}, { examples: [{ key: 'reporting-svc', team: 'reporting', admin: false, scopes: ['jobs:read', 'jobs:write'], open: false }] })

/**
 * Who the caller is, as the service sees its key: a client (the console) can say which team's
 * jobs it shows and offer only what the key may do, without trying each action to find out.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/v1/me', {
    config: { anyKey: true },
    schema: {
      tags: ['Caller'],
      security: bearerSecurity,
      summary: 'The calling key: its name, team and scopes',
      description: 'Any valid key may ask (no scope needed). Never answers the key itself.',
      response: { 200: CallerSchema, ...errorResponses(401) }
    }
  }, async (request) => ({
    key: request.actor.key,
    team: request.actor.team,
    admin: request.actor.admin,
    scopes: request.keyScopes === null ? [...SCOPES] : SCOPES.filter((s) => request.keyScopes!.has(s)),
    open: request.keyScopes === null
  }))
}

export default routes
