/** Small DOM helpers: text always through textContent (data from the EHR is never parsed as HTML). */

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string | undefined)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c !== undefined) e.append(c);
  return e;
}

/** An SVG string made by our renderer (which escapes every text it draws) as a DOM node. */
export function svgNode(svg: string): Element {
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  return document.importNode(doc.documentElement, true);
}

export function showError(what: string, err: unknown): void {
  const app = document.getElementById('app')!;
  app.replaceChildren(
    el('div', { class: 'error', role: 'alert' }, el('strong', {}, what), ': ', err instanceof Error ? err.message : String(err)),
  );
}

/** "2 Dec 2026, 06:00" in the browser's time zone. */
export function formatDate(iso: string | undefined): string {
  if (!iso) return 'date unknown';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function patientName(p: fhir4.Patient | undefined): string {
  const n = p?.name?.[0];
  if (!n) return 'Unknown patient';
  return n.text ?? [...(n.given ?? []), n.family ?? ''].join(' ').trim();
}
