export interface ScenarioResult {
  /** What the table shows for ours and for the reference. */
  ours: string
  reference: string
  /** ours ÷ reference, or null when the scenario was skipped or could not measure it. */
  ratio: number | null
  target: string
  /** null when skipped. */
  met: boolean | null
  /** Every measured figure, written to latest.json beside ratio/target/met. */
  figures: Record<string, unknown>
  /** Why a target was missed, how something was measured, deviations from the brief. */
  notes: string[]
  skipped?: string
}

export interface BenchContext {
  /** Results of the scenarios run so far in this invocation. */
  results: Map<string, ScenarioResult>
  log (message: string): void
}

export interface Scenario {
  name: string
  run (ctx: BenchContext): Promise<ScenarioResult>
}
