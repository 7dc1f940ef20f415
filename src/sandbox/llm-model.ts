/**
 * The sandbox's stand-in "model" and "judge". Deliberately trivial and deterministic so a test
 * can compute the expected answer by hand: the model answers with the prompt's
 * whitespace-separated words in reverse order, joined by one space
 * ("what is my order status?" → "status? order my is what").
 */
export function reverseWords (prompt: string): string {
  return prompt.split(/\s+/).filter((w) => w !== '').reverse().join(' ')
}

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
