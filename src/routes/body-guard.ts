import { badRequest } from '../errors.ts'

/** Deeper than any real job or event; far below where recursive JSON tools overflow the stack. */
export const MAX_BODY_DEPTH = 64

function checkText (text: string, where: string): void {
  if (!text.isWellFormed()) throw badRequest('INVALID_TEXT', `${where} holds a lone UTF-16 surrogate; send well-formed Unicode text`)
  if (text.includes('\u0000')) throw badRequest('INVALID_TEXT', `${where} holds a NUL character, which text cannot store`)
}

/**
 * Refuses bodies the JSON tooling behind the routes cannot handle: nesting deeper than 64 levels,
 * lone surrogates (canonical JSON and hashing refuse them) and NUL characters (PostgreSQL text
 * cannot hold them). Iterative, so even a 10 000-level body is checked without recursion.
 */
export function checkBodyShape (body: unknown): void {
  const stack: Array<{ value: unknown, depth: number, path: string }> = [{ value: body, depth: 0, path: 'body' }]
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!
    if (typeof value === 'string') {
      checkText(value, path)
      continue
    }
    if (value === null || typeof value !== 'object') continue
    if (depth >= MAX_BODY_DEPTH) throw badRequest('BODY_TOO_DEEP', `The body nests deeper than ${MAX_BODY_DEPTH} levels at ${path}; flatten it`)
    for (const [key, child] of Object.entries(value)) {
      checkText(key, `a field name in ${path}`)
      stack.push({ value: child, depth: depth + 1, path: Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}` })
    }
  }
}

export async function guardBody (request: { body: unknown }): Promise<void> {
  checkBodyShape(request.body)
}
