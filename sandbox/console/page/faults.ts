/** Faults queued on the API or on notifications, consumed one by one. */
import type { Fault } from './api';
import { cell, code, esc, fillRows, time } from './format';

export function renderFaults(tbody: HTMLElement, list: readonly Fault[]): void {
  fillRows(tbody, list.map((f) => {
    const target = f.target === 'http' ? `${f.method ? `${f.method} ` : ''}${f.path ?? ''}…` : `notifications${f.event_type ? ` ${f.event_type}…` : ''}`;
    return `<tr>${cell('#', String(f.id))}${cell('kind', `${esc(f.kind)}${f.ms != null ? ` ${f.ms} ms` : ''}${f.seconds != null ? ` ${f.seconds} s` : ''}`)}`
      + `${cell('applies to', code(target))}${cell('remaining', String(f.remaining), 'num')}${cell('queued', time(f.created_at), 'muted')}</tr>`;
  }), 5, 'No pending faults');
}

/** The fault form's fields → a POST /sandbox/faults body. */
export function faultSpec(form: HTMLFormElement): Record<string, unknown> {
  const data = new FormData(form);
  const spec: Record<string, unknown> = { kind: data.get('kind'), count: Number(data.get('count') || 1) };
  for (const k of ['path', 'event_type']) if (data.get(k)) spec[k] = data.get(k);
  for (const k of ['ms', 'seconds']) if (data.get(k) !== '') spec[k] = Number(data.get(k));
  return spec;
}
