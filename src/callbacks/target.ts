import { lookup } from 'node:dns/promises'
import ipaddr from 'ipaddr.js'

export interface CallbackPolicy {
  /** Plain http is refused unless this is set (tests, internal networks). */
  allowHttp: boolean
  /** Loopback, private, link-local and other non-public addresses are refused unless this is set. */
  allowPrivateNetworks: boolean
  /** Host names callbacks may go to; empty means any public host. */
  allowedHosts: readonly string[]
}

export class CallbackRefused extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'CallbackRefused'
  }
}

/** Only ordinary public unicast addresses are dialled; ipaddr.js names every other range. */
export function isPublicAddress (address: string): boolean {
  if (!ipaddr.isValid(address)) return false
  let parsed = ipaddr.parse(address)
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address()
  return parsed.range() === 'unicast'
}

/** Checks a callback URL's form and, unless private networks are allowed, what its name resolves to. */
export async function checkCallbackTarget (raw: string, policy: CallbackPolicy): Promise<URL> {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new CallbackRefused('callbackUrl is not an absolute URL')
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    throw new CallbackRefused(`callbackUrl must use https${policy.allowHttp ? ' or http' : ''}, not ${url.protocol.replace(':', '')}`)
  }
  if (url.username !== '' || url.password !== '') throw new CallbackRefused('callbackUrl must not carry credentials')
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (policy.allowedHosts.length > 0 && !policy.allowedHosts.includes(host)) {
    throw new CallbackRefused(`callbackUrl host ${host} is not in CALLBACK_ALLOWED_HOSTS`)
  }
  if (policy.allowPrivateNetworks) return url
  // WHATWG URL parsing already turns forms such as 2130706433 or 0x7f.1 into dotted addresses.
  const addresses = ipaddr.isValid(host) ? [host] : await resolveAll(host)
  const blocked = addresses.find((a) => !isPublicAddress(a))
  if (blocked !== undefined) throw new CallbackRefused(`callbackUrl resolves to ${blocked}, which is not a public address`)
  return url
}

async function resolveAll (host: string): Promise<string[]> {
  try {
    return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address)
  } catch {
    throw new CallbackRefused(`callbackUrl host ${host} does not resolve`)
  }
}
