/**
 * Genesys's `ConversationAggregationQuery` model, checked the way the platform checks it, so the
 * sandbox refuses what real Genesys would refuse. The enums are those of the Platform API's
 * published models (`ConversationAggregationQuery.GroupByEnum` / `MetricsEnum`,
 * `ConversationAggregateQueryPredicate.TypeEnum` / `DimensionEnum` / `OperatorEnum`,
 * `ConversationAggregateQueryFilter.TypeEnum`), kept apart from the service's code on purpose:
 * a mistake in the service's query must not be copied into the stand-in that should catch it.
 */

export const GROUP_BY_DIMENSIONS: readonly string[] = [
  'activeRouting', 'activeSkillId', 'addressFrom', 'addressTo', 'agentAssistantId', 'agentBullseyeRing', 'agentOwned', 'agentRank',
  'agentScore', 'ani', 'assignerId', 'authenticated', 'conversationId', 'conversationInitiator', 'convertedFrom', 'convertedTo',
  'customerParticipation', 'deliveryStatus', 'destinationAddress', 'direction', 'disconnectType', 'divisionId', 'dnis', 'edgeId',
  'eligibleAgentCount', 'errorCode', 'extendedDeliveryStatus', 'externalContactId', 'externalMediaCount', 'externalOrganizationId',
  'externalTag', 'firstQueue', 'flaggedReason', 'flowInType', 'flowOutType', 'groupId', 'interactionType', 'journeyActionId',
  'journeyActionMapId', 'journeyActionMapVersion', 'journeyCustomerId', 'journeyCustomerIdType', 'journeyCustomerSessionId',
  'journeyCustomerSessionIdType', 'knowledgeBaseId', 'mediaCount', 'mediaType', 'messageType', 'originatingDirection',
  'originatingSocialMediaPublic', 'outboundCampaignId', 'outboundContactId', 'outboundContactListId', 'participantName', 'peerId',
  'proposedAgentId', 'provider', 'purpose', 'queueId', 'remote', 'removedSkillId', 'requestedLanguageId', 'requestedRouting',
  'requestedRoutingSkillId', 'roomId', 'routingPriority', 'routingRing', 'routingRule', 'routingRuleType', 'scoredAgentId',
  'selectedAgentId', 'selectedAgentRank', 'selfServed', 'sessionDnis', 'sessionId', 'stationId', 'teamId', 'usedRouting', 'userId',
  'videoPresent', 'waitingInteractionCount', 'wrapUpCode'
]

/** Predicates may also name canonicalExternalContactId, which cannot be grouped by. */
export const FILTER_DIMENSIONS: readonly string[] = [...GROUP_BY_DIMENSIONS, 'canonicalExternalContactId'].sort()

export const METRICS: readonly string[] = [
  'nBlindTransferred', 'nBotInteractions', 'nCobrowseSessions', 'nConnected', 'nConsult', 'nConsultTransferred', 'nError', 'nOffered',
  'nOutbound', 'nOutboundAbandoned', 'nOutboundAttempted', 'nOutboundConnected', 'nOverSla', 'nStateTransitionError', 'nTransferred',
  'oExternalMediaCount', 'oMediaCount', 'oMessageCount', 'oMessageSegmentCount', 'oMessageTurn', 'oServiceLevel', 'oServiceTarget',
  'tAbandon', 'tAcd', 'tActiveCallback', 'tActiveCallbackComplete', 'tAcw', 'tAgentResponseTime', 'tAlert', 'tAnswered',
  'tAverageAgentResponseTime', 'tAverageCustomerResponseTime', 'tBarging', 'tCoaching', 'tCoachingComplete', 'tConnected',
  'tContacting', 'tDialing', 'tFirstConnect', 'tFirstDial', 'tFirstEngagement', 'tFirstResponse', 'tFlowOut', 'tHandle', 'tHeld',
  'tHeldComplete', 'tIvr', 'tMonitoring', 'tMonitoringComplete', 'tNotResponding', 'tPark', 'tParkComplete', 'tShortAbandon', 'tTalk',
  'tTalkComplete', 'tUserResponseTime', 'tVoicemail', 'tWait'
]

/** The values of the conversation `mediaType` dimension. */
export const MEDIA_TYPE_VALUES: readonly string[] = ['voice', 'chat', 'email', 'callback', 'message', 'cobrowse', 'video', 'screenshare', 'unknown']

export const BOOLEAN_TYPES = ['and', 'or'] as const
export const PREDICATE_TYPES = ['dimension', 'property', 'metric'] as const
export const OPERATORS = ['matches', 'exists', 'notExists'] as const

export interface Predicate { type?: string, dimension?: string, operator?: string, value?: string, range?: unknown }
export interface Clause { type: 'and' | 'or', predicates: Predicate[] }
export interface Filter { type: 'and' | 'or', predicates?: Predicate[], clauses?: Clause[] }

/** What the platform's 400 names: the field and why. */
export interface Refusal { field: string, message: string }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const listed = (values: readonly string[]) => values.join(', ')

function checkBooleanType (value: unknown, field: string): Refusal | undefined {
  if (value === undefined) return { field, message: `${field} is required: '${listed(BOOLEAN_TYPES)}', how the predicates and clauses combine` }
  if (!(BOOLEAN_TYPES as readonly unknown[]).includes(value)) return { field, message: `${field} ${JSON.stringify(value)} is not one of: ${listed(BOOLEAN_TYPES)}` }
  return undefined
}

function checkPredicate (p: unknown, field: string): Refusal | undefined {
  if (!isObject(p)) return { field, message: `${field} must be an object (type, dimension, operator, value)` }
  const type = p.type ?? 'dimension'
  if (!(PREDICATE_TYPES as readonly unknown[]).includes(type)) return { field: `${field}.type`, message: `${field}.type ${JSON.stringify(p.type)} is not one of: ${listed(PREDICATE_TYPES)}` }
  const operator = p.operator ?? 'matches'
  if (!(OPERATORS as readonly unknown[]).includes(operator)) return { field: `${field}.operator`, message: `${field}.operator ${JSON.stringify(p.operator)} is not one of: ${listed(OPERATORS)}` }
  if (p.value !== undefined && typeof p.value !== 'string') return { field: `${field}.value`, message: `${field}.value must be a string` }
  if (type === 'dimension') {
    if (p.dimension === undefined) return { field: `${field}.dimension`, message: `${field}.dimension is required for a dimension predicate` }
    if (typeof p.dimension !== 'string' || !FILTER_DIMENSIONS.includes(p.dimension)) {
      return { field: `${field}.dimension`, message: `${field}.dimension ${JSON.stringify(p.dimension)} is not a conversation aggregate dimension (e.g. queueId, mediaType, userId, direction)` }
    }
  }
  if (operator === 'matches' && p.value === undefined && p.range === undefined) return { field: `${field}.value`, message: `${field}.value is required with operator matches` }
  if (p.dimension === 'mediaType' && operator === 'matches' && typeof p.value === 'string' && !MEDIA_TYPE_VALUES.includes(p.value)) {
    return { field: `${field}.value`, message: `${field}.value ${JSON.stringify(p.value)} is not a mediaType; mediaType values are: ${listed(MEDIA_TYPE_VALUES)}` }
  }
  return undefined
}

function checkPredicates (list: unknown, field: string, required: boolean): Refusal | undefined {
  if (list === undefined) return required ? { field, message: `${field} is required` } : undefined
  if (!Array.isArray(list)) return { field, message: `${field} must be an array of predicates` }
  if (required && list.length === 0) return { field, message: `${field} must hold at least one predicate` }
  for (const [i, p] of list.entries()) {
    const refusal = checkPredicate(p, `${field}[${i}]`)
    if (refusal !== undefined) return refusal
  }
  return undefined
}

/** `ConversationAggregateQueryFilter`: a type, predicates, and clauses one level deep. */
export function checkFilter (filter: unknown): Refusal | undefined {
  if (!isObject(filter)) return { field: 'filter', message: 'filter must be an object' }
  const refusal = checkBooleanType(filter.type, 'filter.type') ?? checkPredicates(filter.predicates, 'filter.predicates', false)
  if (refusal !== undefined) return refusal
  if (filter.clauses !== undefined) {
    if (!Array.isArray(filter.clauses)) return { field: 'filter.clauses', message: 'filter.clauses must be an array of clauses' }
    for (const [i, clause] of filter.clauses.entries()) {
      const field = `filter.clauses[${i}]`
      if (!isObject(clause)) return { field, message: `${field} must be an object (type, predicates)` }
      if (clause.clauses !== undefined) return { field: `${field}.clauses`, message: `${field}.clauses: a clause holds predicates only; clauses nest one level below the filter` }
      const inner = checkBooleanType(clause.type, `${field}.type`) ?? checkPredicates(clause.predicates, `${field}.predicates`, true)
      if (inner !== undefined) return inner
    }
  }
  const predicates = (filter.predicates ?? []) as unknown[]
  const clauses = (filter.clauses ?? []) as unknown[]
  if (predicates.length === 0 && clauses.length === 0) {
    return { field: 'filter', message: 'filter holds no predicates and no clauses; leave filter out to query everything' }
  }
  return undefined
}

function checkNames (list: unknown, field: string, allowed: readonly string[], what: string): Refusal | undefined {
  if (!Array.isArray(list)) return undefined
  for (const [i, name] of list.entries()) {
    if (!allowed.includes(name as string)) return { field: `${field}[${i}]`, message: `${field}[${i}] ${JSON.stringify(name)} is not ${what}` }
  }
  return undefined
}

export const checkMetrics = (metrics: unknown) =>
  checkNames(metrics, 'metrics', METRICS, 'a conversation aggregate metric (e.g. nOffered, tAnswered, tAbandon, tHandle, nTransferred, tTalk, tAcw, tWait)')
export const checkGroupBy = (groupBy: unknown) =>
  checkNames(groupBy, 'groupBy', GROUP_BY_DIMENSIONS, 'a conversation aggregate dimension one can group by (e.g. queueId, mediaType, userId, direction)')

const QUARTER_HOUR_MS = 900_000

/** A granularity as calendar months plus a fixed length; either may be 0, not both. */
export interface Granularity { months: number, ms: number }

/**
 * ISO-8601 durations of whole units (PnYnMnWnDTnHnMnS). Genesys aggregates conversation data in
 * 15-minute buckets, so the fixed part must be a whole number of quarter hours (PT15M, PT30M,
 * PT1H, P1D, P1DT12H, P7D); months and years are calendar units (P1M).
 */
export function parseGranularity (text: string): Granularity | Refusal {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text)
  if (m === null || text === 'P' || text.endsWith('T')) {
    return { field: 'granularity', message: `granularity '${text}' is not an ISO-8601 duration of whole units such as PT30M, P1D or P1M` }
  }
  const [y, mo, w, d, h, min, s] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number, number]
  const months = y * 12 + mo
  const ms = ((((w * 7 + d) * 24 + h) * 60 + min) * 60 + s) * 1000
  if (months === 0 && ms === 0) return { field: 'granularity', message: `granularity '${text}' is zero long` }
  if (ms % QUARTER_HOUR_MS !== 0) {
    return { field: 'granularity', message: `granularity '${text}' is not a whole number of 15-minute intervals: conversation aggregates are kept in 15-minute buckets, so use PT15M, PT30M, PT1H, P1D, P7D or P1M` }
  }
  return { months, ms }
}

/** The end of the bucket that starts at `start` (months step the UTC calendar). */
export function bucketEnd (start: number, g: Granularity): number {
  const date = new Date(start)
  if (g.months > 0) date.setUTCMonth(date.getUTCMonth() + g.months)
  return date.getTime() + g.ms
}
