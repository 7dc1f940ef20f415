// Detects and masks sensitive items in free text (log lines, notes, payloads).
//
// Every regex here leaves the engine few ways to match any given text (disjoint
// alternatives, bounded repeats, lookbehinds that stop a match starting
// mid-token), because masking runs on untrusted input and must never
// backtrack catastrophically.
// Anything needing arithmetic (Luhn, SSA ranges, digit counts) is checked in
// code after the regex has found a candidate.

export const MASK_PATTERNS = ['PII', 'PHI', 'CCN', 'EMAIL', 'PHONE'] as const
export type MaskPattern = typeof MASK_PATTERNS[number]

// The lookbehind stops a match from starting mid local part, so a long run of
// local-part characters with no '@' costs one attempt instead of one per char.
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,63}/g

// A maximal run of digit groups joined by single spaces or dashes. Taking the
// whole run (not 13-19 digits of it) keeps a card from being carved out of
// the middle of some longer number; cardRun() then decides what in it is a card.
const DIGIT_RUN = /\d(?:[ -]?\d)*/g

// Dash and space forms are separate so a separator matching the SSN's own
// extends the number ("2026-123-45-6789" is not an SSN) but a different one
// does not ("SSN 123-45-6789 5 dependants" still is).
const SSN_SEPARATED = /(?<!\d-?)(\d{3})-(\d{2})-(\d{4})(?!-?\d)|(?<!\d ?)(\d{3}) (\d{2}) (\d{4})(?! ?\d)/g
// Nine bare digits are too common (order ids, zip+4) to mask without context.
const SSN_KEYWORD = /(\b(?:ssn|social[\s_-]{0,3}security)\b[^0-9]{0,20})(\d{3})(\d{2})(\d{4})(?!\d)/gi

// (?![a-z]) rather than \b after the keyword so "MRN12345678" counts but
// "mrna" and "patient identity" do not.
const MRN = /(\b(?:mrn|medical\s+record\s+(?:number|no)|patient\s+id)(?![a-z])(?:[\s#:.]|no\b){0,10})([a-z0-9]{6,12})(?![a-z0-9])/gi

// One digit per iteration with the optional ')', separator and '(' around it:
// each is a distinct character, so there is only one way to match.
const E164 = /(?<![A-Za-z0-9+])\+\(?\d(?:\)?[ .-]?\(?\d)*/g
const NANP = /(?<!\d)(?:\+1[ .-]?|1[ .-])?(?:\(\d{3}\) ?|\d{3}[-.])\d{3}[-.]\d{4}(?!\d)/g

export function luhnValid (digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

// Masks each card inside a run of digit groups. A card may share a run with
// neighbouring numbers ("2026-11-23 4111 1111 1111 1111", "qty 2 4111..."),
// so we look for group-aligned windows, but only ones written with a single
// kind of separator, as cards are: that keeps lists of phone numbers, dates
// and SSNs from being glued together into Luhn-valid lookalikes.
function cardRun (run: string): string {
  const groups = run.split(/[ -]/)
  const seps = run.match(/[ -]/g) ?? []
  const out: string[] = []
  let i = 0
  while (i < groups.length) {
    const end = cardEnd(groups, seps, i)
    out.push(end > i ? '[CCN]' : groups[i])
    i = Math.max(end, i + 1)
    if (i < groups.length) out.push(seps[i - 1])
  }
  return out.join('')
}

// Index just past the longest card (13-19 digits, Luhn-valid) made of whole
// groups from `start`, or `start` if there is none. Luhn doubles every second
// digit counting from the right, which isn't known while we extend rightwards,
// so keep the sum for both parities; that keeps adversarial runs linear.
function cardEnd (groups: string[], seps: string[], start: number): number {
  let end = start
  let len = 0
  const sums = [0, 0] // sums[p]: digits at even/odd index from the left doubled when p is 0/1
  for (let j = start; j < groups.length; j++) {
    if (j > start && seps[j - 1] !== seps[start]) break
    const group = groups[j]
    if (len + group.length > 19) break
    for (let k = 0; k < group.length; k++) {
      const d = group.charCodeAt(k) - 48
      sums[len % 2] += d > 4 ? d * 2 - 9 : d * 2
      sums[(len + 1) % 2] += d
      len++
    }
    // The rightmost digit (index len-1) is never doubled, so the doubled ones share len's parity.
    if (len >= 13 && sums[len % 2] % 10 === 0) end = j + 1
  }
  return end
}

// SSA never issues area 000, 666 or 900-999, group 00 or serial 0000.
function isSsn (area: string, group: string, serial: string): boolean {
  const a = Number(area)
  return a !== 0 && a !== 666 && a < 900 && group !== '00' && serial !== '0000'
}

function maskSsns (text: string): string {
  return text
    .replace(SSN_SEPARATED, (m: string, a1?: string, g1?: string, s1?: string, a2?: string, g2?: string, s2?: string) =>
      (a1 !== undefined ? isSsn(a1, g1!, s1!) : isSsn(a2!, g2!, s2!)) ? '[PII]' : m)
    .replace(SSN_KEYWORD, (m: string, lead: string, a: string, g: string, s: string) =>
      isSsn(a, g, s) ? `${lead}[PII]` : m)
}

function maskMrns (text: string): string {
  return text.replace(MRN, (m: string, lead: string, id: string) =>
    (id.match(/\d/g)?.length ?? 0) >= 4 ? `${lead}[PHI]` : m)
}

function maskPhones (text: string): string {
  return text
    .replace(E164, (m: string) => {
      const digits = m.replace(/\D/g, '').length
      const open = m.split('(').length - 1
      const close = m.split(')').length - 1
      // At most one '(...)' pair, in order, e.g. "+44 (20) 7946 0958".
      const parensOk = open === close && open <= 1 && m.indexOf('(') <= m.indexOf(')')
      return digits >= 8 && digits <= 15 && parensOk ? '[PHONE]' : m
    })
    .replace(NANP, '[PHONE]')
}

// Order matters: an email can contain digits, a card's digit groups could
// pass for a phone number, and an SSN's '-'-separated form could too.
const MASKERS: ReadonlyArray<readonly [MaskPattern, (text: string) => string]> = [
  ['EMAIL', (t) => t.replace(EMAIL, '[EMAIL]')],
  ['CCN', (t) => t.replace(DIGIT_RUN, cardRun)],
  ['PII', maskSsns],
  ['PHI', maskMrns],
  ['PHONE', maskPhones]
]

export function maskText (text: string, patterns: readonly MaskPattern[] = MASK_PATTERNS): string {
  let out = text
  for (const [name, mask] of MASKERS) {
    if (patterns.includes(name)) out = mask(out)
  }
  return out
}

function isPlainObject (v: object): boolean {
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

// Copies arrays and plain objects, masking every string value (keys are left
// alone: they are schema, not data). Other objects (Date, Map, class
// instances, Buffers) are returned as-is since we can't copy them faithfully.
// The `seen` map makes cycles and shared references come out the same shape
// in the copy instead of recursing forever.
export function maskDeep<T> (value: T, patterns: readonly MaskPattern[] = MASK_PATTERNS): T {
  const seen = new Map<object, unknown>()
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return maskText(v, patterns)
    if (v === null || typeof v !== 'object') return v
    if (seen.has(v)) return seen.get(v)
    if (Array.isArray(v)) {
      const out: unknown[] = []
      seen.set(v, out)
      for (const item of v) out.push(walk(item))
      return out
    }
    if (!isPlainObject(v)) return v
    const out: Record<string, unknown> = {}
    seen.set(v, out)
    for (const [k, item] of Object.entries(v)) {
      // defineProperty, not assignment, so a "__proto__" key (e.g. from
      // JSON.parse) stays an own data property instead of setting the prototype.
      Object.defineProperty(out, k, { value: walk(item), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  return walk(value) as T
}
