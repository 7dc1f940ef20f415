import { html, useEffect, useRef } from '../lib/html.js'

/** A modal question (native dialog: focus moves in, Escape closes, focus returns on close). */
export function ConfirmDialog ({ id = 'confirm', open, title, children, confirmLabel, cancelLabel = 'Keep it', onConfirm, onCancel, busy, tone = 'danger' }) {
  const dialog = useRef(null)
  useEffect(() => {
    const d = dialog.current
    if (d === null) return
    if (open && !d.open) d.showModal()
    if (!open && d.open) d.close()
  }, [open])
  return html`
    <dialog ref=${dialog} class="dialog" id=${id} aria-labelledby=${`${id}-title`} onCancel=${(e) => { e.preventDefault(); onCancel() }}>
      <h2 id=${`${id}-title`}>${title}</h2>
      <div>${children}</div>
      <div class="dialog-actions">
        <button type="button" class="button" onClick=${onCancel} disabled=${busy}>${cancelLabel}</button>
        <button type="button" class=${`button button-${tone}`} onClick=${onConfirm} disabled=${busy}>${confirmLabel}</button>
      </div>
    </dialog>`
}
