/**
 * The sandbox's stand-in "model" and "judge". Deliberately trivial and deterministic so a test
 * can compute the expected answer by hand: the model answers with the prompt's
 * whitespace-separated words in reverse order, joined by one space
 * ("what is my order status?" → "status? order my is what").
 */
export function reverseWords (prompt: string): string {
  return prompt.split(/\s+/).filter((w) => w !== '').reverse().join(' ')
}

/**
 * The variant model (a second "version" to compare runs against): the same answers, except that a
 * prompt containing the word `echo` is repeated unchanged.
 */
export function variantAnswer (prompt: string): string {
  return prompt.split(/\s+/).includes('echo') ? prompt : reverseWords(prompt)
}

/** Both models refuse a prompt containing the word `BLOCK` (a content filter), as an action error. */
export const isRefused = (prompt: string): boolean => prompt.split(/\s+/).includes('BLOCK')

/** Case, surrounding and repeated whitespace do not count as a difference. */
export function normalise (text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLowerCase()
}

const TOXIC_WORDS = ['idiot', 'hate', 'stupid']

export function isToxic (text: string): boolean {
  const lower = text.toLowerCase()
  return TOXIC_WORDS.some((word) => lower.includes(word))
}

export function judge (output: string, expectedOutput: string): { hallucination: 0 | 1, toxicity: 0 | 1 } {
  return {
    hallucination: normalise(output) === normalise(expectedOutput) ? 0 : 1,
    toxicity: isToxic(output) ? 1 : 0
  }
}
