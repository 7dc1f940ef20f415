import { Ajv, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { JsonSchemaDocument } from '../../clients/genesys/integrations.ts'

export interface ContractIssue { path: string, message: string }

/**
 * Checks values against the JSON Schema documents Genesys publishes (action input contracts,
 * flow input schemas), compiling each document once.
 */
export function createContractChecker () {
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false })
  addFormats.default(ajv)
  const compiled = new WeakMap<JsonSchemaDocument, ValidateFunction>()

  return function issues (schema: JsonSchemaDocument, value: unknown, root: string): ContractIssue[] {
    let validate = compiled.get(schema)
    if (validate === undefined) {
      // Genesys documents declare draft-04 in `$schema`, which Ajv would try to resolve; the
      // keywords they use mean the same in the draft Ajv speaks.
      const { $schema: _ignored, ...rest } = schema
      validate = ajv.compile(rest)
      compiled.set(schema, validate)
    }
    if (validate(value)) return []
    return (validate.errors ?? []).map((e) => ({
      path: `${root}${e.instancePath.replaceAll('/', '.')}`,
      message: e.keyword === 'required'
        ? `is missing '${String(e.params.missingProperty)}'`
        : e.keyword === 'additionalProperties' ? `has an unknown field '${String(e.params.additionalProperty)}'` : (e.message ?? 'is invalid')
    }))
  }
}

export const describeIssues = (issues: ContractIssue[]): string => issues.map((i) => `${i.path} ${i.message}`).join('; ')
