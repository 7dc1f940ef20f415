import { html, useState } from '../lib/html.js'
import { download } from '../lib/api.js'
import { ApiErrorMessage } from './errors.js'

/** A button that fetches `path` with the key and saves the answer as a file (see api.js `download`). */
export function DownloadButton ({ path, accept, filename, label, id }) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState(null)
  const run = async () => {
    setBusy(true)
    setError(null)
    try {
      await download(path, { accept, filename })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return html`
    <span class="download">
      <button type="button" class="button" id=${id} onClick=${run} disabled=${busy} aria-busy=${busy ? 'true' : 'false'}>${busy ? 'Preparing…' : label}</button>
      <${ApiErrorMessage} error=${error} what="Could not download" />
    </span>`
}
