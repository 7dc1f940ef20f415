import { html, useEffect, useRef } from '../lib/html.js'

/** A modal question (native dialog: focus moves in, Escape closes, focus returns on close). */
export function ConfirmDialog ({ open, title, children, confirmLabel, cancelLabel = 'Keep it', onConfirm, onCancel, busy }) {
  const dialog = useRef(null)
  useEffect(() => {
    const d = dialog.current
    if (d === null) return
    if (open && !d.open) d.showModal()
    if (!open && d.open) d.close()
  }, [open])
  return html`
    <dialog ref=${dialog} class="dialog" aria-labelledby="confirm-title" onCancel=${(e) => { e.preventDefault(); onCancel() }}>
      <h2 id="confirm-title">${title}</h2>
      <div>${children}</div>
      <div class="dialog-actions">
        <button type="button" class="button" onClick=${onCancel} disabled=${busy}>${cancelLabel}</button>
        <button type="button" class="button button-danger" onClick=${onConfirm} disabled=${busy}>${confirmLabel}</button>
      </div>
    </dialog>`
}
