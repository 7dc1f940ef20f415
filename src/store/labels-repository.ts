import type { Connection } from './schema.ts'

/** `key:value` labels of a job, kept beside the job row so lists can filter on them. */
export function createLabelsRepository (db: Connection) {
  return {
    async add (jobId: string, labels: Record<string, string>): Promise<void> {
      const entries = Object.entries(labels)
      if (entries.length === 0) return
      await db.insertInto('jobLabels').values(entries.map(([key, value]) => ({ jobId, key, value }))).execute()
    }
  }
}

export type LabelsRepository = ReturnType<typeof createLabelsRepository>
