import fp from 'fastify-plugin'
import { createVerifyGate, type VerifyResult } from '../audit/verify.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The audit log's use cases that need process state: one verification at a time. */
    auditLog: { verify (): Promise<VerifyResult> }
  }
}

export default fp(async (app) => {
  const gate = createVerifyGate()
  app.decorate('auditLog', { verify: async () => await gate.run(app.store.audit) })
}, { name: 'audit', dependencies: ['store'] })
