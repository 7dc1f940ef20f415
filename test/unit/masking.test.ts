import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { MASK_PATTERNS, luhnValid, maskDeep, maskText } from '../../src/privacy/masking.ts'
import type { MaskPattern } from '../../src/privacy/masking.ts'

// Each positive is [input, the sensitive substring that must disappear].
function assertMasked (cases: Array<[string, string]>, token: string): void {
  for (const [input, secret] of cases) {
    const out = maskText(input)
    assert.ok(out.includes(token), `${JSON.stringify(input)} -> ${JSON.stringify(out)} should contain ${token}`)
    assert.ok(!out.includes(secret), `${JSON.stringify(input)} -> ${JSON.stringify(out)} still contains ${secret}`)
  }
}

function assertUnchanged (inputs: string[], patterns?: readonly MaskPattern[]): void {
  for (const input of inputs) assert.equal(maskText(input, patterns), input)
}

describe('masking: EMAIL', () => {
  test('masks addresses in surrounding text', () => {
    assertMasked([
      ['contact john.doe@example.com today', 'john.doe@example.com'],
      ['cc: a+tag@sub.example.co.uk, thanks', 'a+tag@sub.example.co.uk'],
      ['from x_y%z@mail-server.example.org', 'x_y%z@mail-server.example.org'],
      ['MAIL FROM:<UPPER@EXAMPLE.COM>', 'UPPER@EXAMPLE.COM'],
      ['reply to first.last@foo.bar.museum please', 'first.last@foo.bar.museum'],
      ['user42@example.io', 'user42@example.io']
    ], '[EMAIL]')
    assert.equal(maskText('a@example.com and b@example.org'), '[EMAIL] and [EMAIL]')
    assert.equal(maskText('<bob@example.com>'), '<[EMAIL]>')
  })

  test('leaves near misses alone', () => {
    assertUnchanged([
      'user@localhost',
      '@example.com',
      'a@b',
      'user@.com',
      'user@example.c',
      'user@example.123',
      'user at example dot com',
      'user@@example.com'
    ])
  })
})

describe('masking: CCN', () => {
  test('masks Luhn-valid card numbers', () => {
    assertMasked([
      ['card 4111 1111 1111 1111 on file', '4111 1111 1111 1111'],
      ['amex 378282246310005.', '378282246310005'],
      ['mc:5555555555554444', '5555555555554444'],
      ['discover (6011111111111117)', '6011111111111117'],
      ['paid with 4111-1111-1111-1111 yesterday', '4111-1111-1111-1111'],
      ['amex grouped 3782 822463 10005', '822463'],
      ['13 digit visa 4222222222222', '4222222222222']
    ], '[CCN]')
    assert.equal(maskText('4111 1111 1111 1111'), '[CCN]')
  })

  test('finds a card that shares a digit run with other numbers', () => {
    assert.equal(maskText('2026-11-23 4111 1111 1111 1111'), '2026-11-23 [CCN]')
    assert.equal(maskText('qty 2 4111111111111111 ok'), 'qty 2 [CCN] ok')
    assert.equal(maskText('4111 1111 1111 1111 2 items'), '[CCN] 2 items')
  })

  test('leaves near misses alone', () => {
    assertUnchanged([
      '4111-1111-1111-1112',
      '1234567812345678',
      'ref 411111111111', // 12 digits
      'ref 41111111111111111111', // 20 digits, though its first 16 pass Luhn
      '4111--1111-1111-1111', // double separator breaks the run
      '4111_1111_1111_1111',
      '4111.1111.1111.1111'
    ])
  })
})

describe('masking: PII', () => {
  test('masks SSNs', () => {
    assertMasked([
      ['SSN 123-45-6789', '123-45-6789'],
      ['ssn: 123 45 6789 on file', '123 45 6789'],
      ['SSN#123456789', '123456789'],
      ['social security number is 078051120', '078051120'],
      ['Social Security: 219-09-9999.', '219-09-9999'],
      ['applicant 123-45-6789, approved', '123-45-6789'],
      ['SSN 123-45-6789 5 dependants', '123-45-6789']
    ], '[PII]')
    assert.equal(maskText('SSN#123456789'), 'SSN#[PII]')
  })

  test('leaves invalid or unanchored numbers alone', () => {
    assertUnchanged([
      '000-12-3456',
      '666-12-3456',
      '900-12-3456',
      '999-12-3456',
      '123-00-6789',
      '123-45-0000',
      'order 123456789', // bare nine digits need an SSN keyword
      'ssn 000123456',
      'ssn is 12345678',
      'SSN field blank; unrelated number later: 123456789',
      '1123-45-6789',
      '123-45-67890',
      '2026-123-45-6789'
    ])
  })
})

describe('masking: PHI', () => {
  test('masks medical record numbers after a keyword', () => {
    assertMasked([
      ['MRN: 12345678', '12345678'],
      ['mrn#A1234567 admitted', 'A1234567'],
      ['Medical Record Number: 00123456', '00123456'],
      ['medical record no. 12345678', '12345678'],
      ['Patient ID 98765432 seen', '98765432'],
      ['patient id: AB123456', 'AB123456'],
      ['MRN no. 12345678', '12345678'],
      ['MRN12345678', '12345678']
    ], '[PHI]')
    assert.equal(maskText('MRN: 12345678'), 'MRN: [PHI]')
    assert.equal(maskText('Patient ID 98765432 seen'), 'Patient ID [PHI] seen')
  })

  test('leaves near misses alone', () => {
    assertUnchanged([
      'MRN 1234',
      '12345678',
      'MRN: ABCDEFGH',
      'MRN: AB12CDEF', // fewer than 4 digits
      'MRN: ABC1234567890', // 13 characters
      'mrna 12345678',
      'patient identity 12345678'
    ])
  })
})

describe('masking: PHONE', () => {
  test('masks E.164 and NANP numbers', () => {
    assertMasked([
      ['call +1 (555) 123-4567 now', '123-4567'],
      ['uk office +44 20 7946 0958', '7946 0958'],
      ['tel: (555) 123-4567', '123-4567'],
      ['555-123-4567 is the desk', '555-123-4567'],
      ['555.123.4567', '555.123.4567'],
      ['toll free 1-800-555-1234', '800-555-1234'],
      ['mobile +4915123456789.', '4915123456789'],
      ['+1 555 123 4567', '555 123 4567']
    ], '[PHONE]')
    assert.equal(maskText('call 555-123-4567 or 555-987-6543'), 'call [PHONE] or [PHONE]')
  })

  test('leaves dates, versions, IPs and short numbers alone', () => {
    assertUnchanged([
      'on 2026-11-23',
      'ext 5551234',
      'host 192.168.1.1',
      'version 1.2.3',
      '+1234567', // 7 digits
      '555-1234',
      '555-123-45678',
      '+1 (555 123-4567', // unbalanced parenthesis
      'at 10:00:00+01:00'
    ])
  })

  test('cards and SSNs are claimed by their own detectors first', () => {
    assert.equal(maskText('4111111111111111'), '[CCN]')
    assert.equal(maskText('123-45-6789'), '[PII]')
    // Neither is phone-shaped, so with only PHONE enabled they stay put.
    assertUnchanged(['4111111111111111', '123-45-6789'], ['PHONE'])
  })
})

describe('masking: patterns filter', () => {
  const text = 'a@example.com 4111 1111 1111 1111 123-45-6789 MRN: 12345678 555-123-4567'

  test('applies every pattern by default', () => {
    assert.equal(maskText(text), '[EMAIL] [CCN] [PII] MRN: [PHI] [PHONE]')
    assert.deepEqual([...MASK_PATTERNS].sort(), ['CCN', 'EMAIL', 'PHI', 'PHONE', 'PII'])
  })

  test('applies only the enabled patterns', () => {
    assert.equal(maskText(text, ['EMAIL']), '[EMAIL] 4111 1111 1111 1111 123-45-6789 MRN: 12345678 555-123-4567')
    assert.equal(maskText(text, ['CCN']), 'a@example.com [CCN] 123-45-6789 MRN: 12345678 555-123-4567')
    assert.equal(maskText(text, ['PII', 'PHONE']), 'a@example.com 4111 1111 1111 1111 [PII] MRN: 12345678 [PHONE]')
    assert.equal(maskText(text, []), text)
  })
})

describe('masking: maskDeep', () => {
  test('masks nested string values, not keys or other primitives', () => {
    const input = {
      'ops@example.com': 'owner ops@example.com',
      user: { email: 'a@example.com', tags: ['SSN 123-45-6789', 7, true, null], card: 4111111111111111 },
      list: [[{ note: 'MRN: 12345678' }]],
      missing: undefined
    }
    const snapshot = structuredClone(input)
    const out = maskDeep(input)
    assert.deepEqual(out, {
      'ops@example.com': 'owner [EMAIL]',
      user: { email: '[EMAIL]', tags: ['SSN [PII]', 7, true, null], card: 4111111111111111 },
      list: [[{ note: 'MRN: [PHI]' }]],
      missing: undefined
    })
    assert.deepEqual(input, snapshot)
    assert.notEqual(out.user, input.user)
    assert.notEqual(out.list[0], input.list[0])
  })

  test('handles top-level primitives and honours the patterns filter', () => {
    assert.equal(maskDeep('x a@example.com'), 'x [EMAIL]')
    assert.equal(maskDeep(null), null)
    assert.equal(maskDeep(42), 42)
    assert.deepEqual(maskDeep(['a@example.com', '4111111111111111'], ['CCN']), ['a@example.com', '[CCN]'])
  })

  test('copes with cycles and shared references', () => {
    type Node = { name: string, self?: Node, items: unknown[] }
    const node: Node = { name: 'a@example.com', items: [] }
    node.self = node
    node.items.push(node)
    const out = maskDeep(node)
    assert.equal(out.name, '[EMAIL]')
    assert.equal(out.self, out)
    assert.equal(out.items[0], out)
    assert.equal(node.name, 'a@example.com')
  })

  test('keeps a JSON "__proto__" key as data', () => {
    const input = JSON.parse('{"__proto__": {"email": "a@example.com"}}')
    const out = maskDeep(input)
    assert.equal(Object.getPrototypeOf(out), Object.prototype)
    assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, { email: '[EMAIL]' })
  })

  test('returns non-plain objects as they are', () => {
    const when = new Date(0)
    assert.equal(maskDeep({ when }).when, when)
  })
})

describe('masking: luhnValid', () => {
  test('accepts valid numbers', () => {
    for (const n of ['4111111111111111', '378282246310005', '5555555555554444', '6011111111111117', '79927398713', '0']) {
      assert.equal(luhnValid(n), true, n)
    }
  })

  test('rejects invalid numbers and non-digits', () => {
    for (const n of ['4111111111111112', '1234567812345678', '79927398710', '', 'abcd', '4111 1111 1111 1111', '-4111111111111111']) {
      assert.equal(luhnValid(n), false, n)
    }
  })
})

describe('masking: adversarial input', () => {
  const inputs: Record<string, string> = {
    'a@ repeated': 'a@'.repeat(50_000),
    '100k digit run': '1'.repeat(100_000),
    '1- repeated': '1-'.repeat(50_000),
    '1<space> repeated': '1 '.repeat(50_000),
    'local part with no @': 'a'.repeat(100_000),
    '+1 repeated': '+1 '.repeat(33_000),
    'keywords without numbers': 'ssn MRN patient id '.repeat(5_000),
    'domain labels without TLD': 'a@' + 'b.'.repeat(50_000)
  }
  for (const [name, input] of Object.entries(inputs)) {
    test(`${name} finishes quickly`, () => {
      const started = performance.now()
      maskText(input)
      const elapsed = performance.now() - started
      assert.ok(elapsed < 500, `took ${elapsed.toFixed(0)} ms`)
    })
  }
})
