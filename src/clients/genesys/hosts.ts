export interface GenesysHosts {
  apiUrl: string
  loginUrl: string
}

/**
 * A region is a domain such as `mypurecloud.com` or `usw2.pure.cloud`: tokens come from
 * `login.<domain>`, the API from `api.<domain>`. Explicit URLs win, for proxies and the sandbox.
 */
export function resolveHosts (options: { region?: string, apiUrl?: string, loginUrl?: string }): GenesysHosts {
  const domain = options.region?.replace(/^https?:\/\//, '').replace(/^(api|login)\./, '').replace(/\/+$/, '')
  const apiUrl = options.apiUrl ?? (domain === undefined ? undefined : `https://api.${domain}`)
  const loginUrl = options.loginUrl ?? (domain === undefined ? undefined : `https://login.${domain}`)
  if (apiUrl === undefined || loginUrl === undefined) {
    throw new Error('Genesys hosts are unknown: set GENESYS_REGION (e.g. mypurecloud.com) or both GENESYS_API_URL and GENESYS_LOGIN_URL')
  }
  return { apiUrl: apiUrl.replace(/\/+$/, ''), loginUrl: loginUrl.replace(/\/+$/, '') }
}
