import { Type } from 'typebox'

export const AuditRecordSchema = Type.Object({
  seq: Type.Integer({ description: 'Position in the chain, from 1' }),
  id: Type.String({ format: 'uuid' }),
  at: Type.String({ format: 'date-time' }),
  event: Type.String({ examples: ['job.succeeded', 'job.failed'] }),
  jobId: Type.Union([Type.String(), Type.Null()]),
  kind: Type.Union([Type.String(), Type.Null()]),
  actor: Type.Union([Type.String(), Type.Null()], { description: 'The caller the record is about' }),
  details: Type.Record(Type.String(), Type.Unknown(), { description: 'Masked: no personal data is stored here' }),
  prevHash: Type.String({ description: 'Hash of the record before; 64 zeros for the first' }),
  hash: Type.String({ description: 'sha256 of prevHash and the canonical JSON of this record' })
}, { $id: 'AuditRecord' })
