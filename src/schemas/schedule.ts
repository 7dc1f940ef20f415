import { Type, type Static } from 'typebox'
import { Labels } from './common.ts'

export const OVERLAP = ['skip', 'allow'] as const
export const CATCH_UP = ['none', 'latest'] as const
export const RUN_OUTCOMES = ['created', 'skipped', 'missed', 'failed'] as const

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9 _.:-]*$', description: 'Unique within the team, e.g. daily-queue-report (letters, digits, space, _ . : -)' })
const Cron = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'Five fields: minute hour day-of-month month day-of-week, e.g. `0 6 * * *` (06:00 every day) or `*/15 8-18 * * MON-FRI`',
  examples: ['0 6 * * *']
})
const TimeZone = Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone the cron is read in, e.g. Europe/London; daylight-saving changes follow it', examples: ['Europe/London'] })
const CallbackUrl = Type.String({ format: 'uri', maxLength: 2048, description: "Where each job's signed completion event is posted (a BI endpoint, say)" })
const Overlap = Type.Enum([...OVERLAP], { description: '`skip` (default): a tick while the previous run is still unfinished makes no job and is recorded as skipped; `allow`: it makes one anyway' })
const CatchUp = Type.Enum([...CATCH_UP], { description: 'Ticks missed while no replica ran (a tick is missed when its job was not made within 60 s): `none` (default) records them as missed; `latest` runs the newest of them once' })
const Enabled = Type.Boolean({ description: 'A disabled schedule makes no jobs and records no ticks (default true)' })
const JobBody = Type.Record(Type.String(), Type.Unknown(), {
  description: "The body of each job, as `POST /v1/jobs/<kind>` takes it without `labels` and `callbackUrl` (which are the schedule's). " +
    'A `routing-evaluation` body may give its `interval` relative to each tick: `{"last": "P1D"}` or `{"previous": "day" | "week" | "month"}`, ' +
    "resolved in the schedule's time zone (also the report's `timeZone` unless the body names one)."
})

export const CreateScheduleBody = Type.Object({
  name: Name,
  cron: Cron,
  timeZone: TimeZone,
  kind: Type.String({ minLength: 1, maxLength: 64, description: 'The job kind each tick submits', examples: ['routing-evaluation'] }),
  body: JobBody,
  labels: Type.Optional(Labels),
  callbackUrl: Type.Optional(CallbackUrl),
  overlap: Type.Optional(Overlap),
  catchUp: Type.Optional(CatchUp),
  enabled: Type.Optional(Enabled)
}, { additionalProperties: false })
export type CreateSchedule = Static<typeof CreateScheduleBody>

export const PatchScheduleBody = Type.Object({
  name: Type.Optional(Name),
  cron: Type.Optional(Cron),
  timeZone: Type.Optional(TimeZone),
  kind: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A new kind needs a new body with it' })),
  body: Type.Optional(JobBody),
  labels: Type.Optional(Labels),
  callbackUrl: Type.Optional(Type.Union([CallbackUrl, Type.Null()], { description: 'null removes it' })),
  overlap: Type.Optional(Overlap),
  catchUp: Type.Optional(CatchUp),
  enabled: Type.Optional(Enabled)
}, { additionalProperties: false, minProperties: 1, description: 'The fields to change; the others stay' })
export type PatchSchedule = Static<typeof PatchScheduleBody>

export const ScheduleSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  team: Type.String({ description: "The creating key's team: the schedule and its jobs belong to it" }),
  createdBy: Type.String({ description: 'The API key that created it' }),
  cron: Type.String(),
  timeZone: Type.String(),
  kind: Type.String(),
  body: Type.Record(Type.String(), Type.Unknown()),
  labels: Type.Record(Type.String(), Type.String()),
  callbackUrl: Type.Union([Type.String(), Type.Null()]),
  overlap: Type.Enum([...OVERLAP]),
  catchUp: Type.Enum([...CATCH_UP]),
  enabled: Type.Boolean(),
  nextTickAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'The next tick not yet handled; null while disabled' }),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' })
}, { $id: 'Schedule' })
export type ScheduleResource = Static<typeof ScheduleSchema>

export const ScheduleRunSchema = Type.Object({
  tickAt: Type.String({ format: 'date-time', description: 'The tick (the cron time), or when a run was asked for by hand' }),
  outcome: Type.Enum([...RUN_OUTCOMES], { description: '`created`: the tick made a job; `skipped`: the previous run was still unfinished (overlap skip); `missed`: no replica ran in time; `failed`: the job could not be made (reason says why)' }),
  jobId: Type.Union([Type.String(), Type.Null()]),
  catchUp: Type.Boolean({ description: 'The job was made for a missed tick (catchUp latest)' }),
  reason: Type.Union([Type.String(), Type.Null()]),
  recordedAt: Type.String({ format: 'date-time' }),
  lagMs: Type.Integer({ description: 'From the tick to its record (and its job)' })
}, { $id: 'ScheduleRun' })
export type ScheduleRunResource = Static<typeof ScheduleRunSchema>
