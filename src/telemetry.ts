import client, { type Registry } from '@prometheus-io/client'

/**
 * Domain metrics, in the app's own registry. Labels are low-cardinality on purpose: a kind, an
 * outcome, an operation name; never a job id or a URL.
 */
export function createTelemetry (registry: Registry) {
  const registers = [registry]
  return {
    registry,
    jobsSubmitted: new client.Counter({ name: 'orchestrator_jobs_submitted_total', help: 'Jobs accepted', labelNames: ['kind'], registers }),
    jobsFinished: new client.Counter({ name: 'orchestrator_jobs_finished_total', help: 'Jobs that reached a terminal status', labelNames: ['kind', 'outcome'], registers }),
    jobDuration: new client.Histogram({
      name: 'orchestrator_job_duration_seconds',
      help: 'Time from submission to terminal status',
      labelNames: ['kind', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers
    }),
    stepDuration: new client.Histogram({
      name: 'orchestrator_step_duration_seconds',
      help: 'Time one step of a job took',
      labelNames: ['kind', 'step', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers
    }),
    cacheHits: new client.Counter({ name: 'orchestrator_cache_hits_total', help: 'Jobs answered from a result cache', labelNames: ['kind'], registers }),
    genesysRequests: new client.Counter({ name: 'orchestrator_genesys_requests_total', help: 'HTTP exchanges with Genesys', labelNames: ['operation', 'status'], registers }),
    genesysRequestDuration: new client.Histogram({
      name: 'orchestrator_genesys_request_duration_seconds',
      help: 'Duration of one HTTP exchange with Genesys',
      labelNames: ['operation'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers
    }),
    genesysThrottled: new client.Counter({ name: 'orchestrator_genesys_throttled_total', help: '429 answers from Genesys', labelNames: ['operation'], registers }),
    genesysPauseSeconds: new client.Counter({ name: 'orchestrator_genesys_pause_seconds_total', help: 'Time all Genesys requests were paused after 429s', registers }),
    genesysTokenRefreshes: new client.Counter({ name: 'orchestrator_genesys_token_refreshes_total', help: 'Client-credentials logins', labelNames: ['outcome'], registers }),
    webhookEvents: new client.Counter({ name: 'orchestrator_webhook_events_total', help: 'Inbound webhook events', labelNames: ['source', 'type', 'outcome'], registers }),
    callbackDeliveries: new client.Counter({ name: 'orchestrator_callback_deliveries_total', help: 'Outbound callback attempts', labelNames: ['outcome'], registers }),
    retentionPrunedRows: new client.Counter({ name: 'orchestrator_retention_pruned_rows_total', help: 'Rows removed by retention, by table', labelNames: ['table'], registers }),
    retentionPasses: new client.Counter({ name: 'orchestrator_retention_passes_total', help: 'Retention passes this replica ran, by outcome (completed, failed, lease_lost)', labelNames: ['outcome'], registers }),
    auditArchivedRecords: new client.Counter({ name: 'orchestrator_audit_archived_records_total', help: 'Audit records archived to files and replaced by a checkpoint', registers }),
    scheduleTicks: new client.Counter({ name: 'orchestrator_schedule_ticks_total', help: 'Schedule ticks handled, by outcome (created, skipped, missed, failed)', labelNames: ['kind', 'outcome'], registers }),
    scheduleSkippedTicks: new client.Counter({ name: 'orchestrator_schedule_skipped_ticks_total', help: 'Schedule ticks that made no job, by why (overlap, missed, failed)', labelNames: ['kind', 'reason'], registers }),
    scheduleLag: new client.Histogram({
      name: 'orchestrator_schedule_lag_seconds',
      help: 'Time from a tick to the creation of its job',
      labelNames: ['kind'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
      registers
    })
  }
}

export type Telemetry = ReturnType<typeof createTelemetry>
