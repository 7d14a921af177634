// How runs look in a terminal: one progress line per stage (bar, step/total, headline metric, ETA,
// attempt), the final summary table, and duration formatting. Pure functions of a LiveStatus.
import type { LiveStage, LiveStatus } from '../temporal/pipeline-client';

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function bar(step: number, total: number, width = 20): string {
  const f = total > 0 ? Math.max(0, Math.min(1, step / total)) : 0;
  const n = Math.round(f * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
}

/** Remembers the first (time, step) seen per stage attempt, so the ETA uses the observed rate. */
export class RateTracker {
  private first = new Map<string, { t: number; step: number }>();

  eta(s: LiveStage, now: number): number | undefined {
    const p = s.progress;
    if (!p || p.total <= 0) return undefined;
    const k = `${s.id}#${s.attempt ?? 1}`;
    const f = this.first.get(k);
    if (!f || p.step < f.step) {
      this.first.set(k, { t: now, step: p.step });
      return undefined;
    }
    const rate = (p.step - f.step) / Math.max(1, now - f.t);
    return rate > 0 ? (p.total - p.step) / rate : undefined;
  }
}

/** The metric a stage is judged by, first match wins. */
const HEADLINE = ['loss', 'reward.total', 'reward', 'accuracy', 'keepRate', 'samples'];

export function headline(metrics: Record<string, number | string> | undefined): string {
  if (!metrics) return '';
  const k = HEADLINE.find((h) => h in metrics) ?? Object.keys(metrics)[0];
  if (k === undefined) return '';
  const v = metrics[k];
  return `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`;
}

export function stageLine(s: LiveStage, now: number, rates?: RateTracker): string {
  const id = s.id.padEnd(16);
  switch (s.state) {
    case 'running': {
      const p = s.progress;
      const eta = rates?.eta(s, now);
      const parts = [`▸ ${id} running  `];
      if (p) parts.push(`${bar(p.step, p.total)} ${p.step}/${p.total}`);
      else parts.push('(starting)');
      if (p?.phase) parts.push(p.phase);
      const h = headline(p?.metrics);
      if (h) parts.push(h);
      if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
      if ((s.attempt ?? 1) > 1) parts.push(`attempt ${s.attempt}`);
      if (s.lastFailure) parts.push(`last error: ${s.lastFailure.slice(0, 80)}`);
      return parts.join('  ');
    }
    case 'succeeded':
    case 'reused':
      return `✓ ${id} ${s.state === 'reused' ? 'reused ' : 'done   '}  ${s.artifactId?.slice(0, 12) ?? ''}  ${headline(s.summary)}`.trimEnd();
    case 'failed':
      return `✗ ${id} failed    ${s.error?.type ?? ''} ${s.error?.message ?? ''}`.trimEnd();
    case 'skipped':
      return `- ${id} skipped   ${s.error?.message ?? ''}`.trimEnd();
    case 'cancelled':
      return `■ ${id} cancelled`;
    default:
      return `· ${id} pending`;
  }
}

export function summaryTable(st: Pick<LiveStatus, 'stages'>): string {
  const head = ['stage', 'state', 'reused/ran', 'duration', 'artifact', 'headline'];
  const rows = st.stages.map((s) => [
    s.id, s.state,
    s.state === 'reused' ? 'reused' : s.state === 'succeeded' ? 'ran' : '-',
    formatDuration(s.startedAt !== undefined && s.endedAt !== undefined ? s.endedAt - s.startedAt : undefined),
    s.artifactId?.slice(0, 12) ?? '-',
    s.state === 'failed' || s.state === 'skipped' ? `${s.error?.type ? `${s.error.type}: ` : ''}${s.error?.message ?? ''}` : headline(s.summary),
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]): string => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
