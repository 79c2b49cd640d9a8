import type { ProgressSink } from './compare';

/**
 * Progress of a long run on a terminal: one line, rewritten a few times a second — the phase, how far, rows per
 * second and the time left when the total is known (`≈` when it is an estimate). Nothing at all when the stream is
 * not a terminal, so a piped or logged run stays quiet JSON.
 */
export function terminalProgress(stream: NodeJS.WriteStream, opts: { every?: number; now?: () => number } = {}): ProgressSink | undefined {
  if (!stream.isTTY) return undefined;
  const every = opts.every ?? 250;
  const now = opts.now ?? Date.now;
  let name = '';
  let total: number | undefined;
  let count = 0;
  let started = 0;
  let shown = 0;
  const show = (final: boolean) => {
    const seconds = Math.max((now() - started) / 1000, 1e-3);
    const rate = count / seconds;
    const of = total ? `/${total.toLocaleString('en-US')}` : '';
    const left = total && rate > 0 && count < total ? ` · ${name === 'bill rows' ? '≈' : ''}${Math.ceil((total - count) / rate)} s left` : '';
    stream.write(`\r\x1b[2K${name}: ${count.toLocaleString('en-US')}${of} · ${Math.round(rate).toLocaleString('en-US')} rows/s${final ? ` · ${seconds.toFixed(1)} s` : left}`);
    if (final) stream.write('\n');
  };
  return {
    phase(next, t) {
      if (name) show(true);
      name = next;
      total = t;
      count = 0;
      started = shown = now();
    },
    advance(n) {
      count += n;
      if (now() - shown >= every) {
        shown = now();
        show(false);
      }
    },
    done() {
      if (name) show(true);
      name = '';
    },
  };
}
