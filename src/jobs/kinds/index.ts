import type { JobKind } from '../kind.ts'

/** Every job kind the service offers; each lives in its own module beside this file. */
export const defaultKinds: readonly JobKind[] = []
