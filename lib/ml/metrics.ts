// Classification metrics of the eval stage (CLGRPO.md, "Metrics"): accuracy, per-class and macro
// recall, format rate and a confusion matrix. Pure functions of (true label, parsed prediction,
// format flag) records; a prediction of null (unparseable answer) always counts as wrong and gets
// its own last column in the confusion matrix, so nothing the model wrote is silently dropped.
// Also the eval-report artifact's two files (docs/CONTRACTS.md "Report inputs"): `report.json`,
// read by the report command, and `report.md`, a table a person reads (rows = models by stage id,
// columns = accuracy, macro recall, format rate, then per-class recall) plus each confusion matrix.

export interface Prediction {
  /** Ground-truth label. */
  label: string;
  /** The label parsed from the completion, or null when unparseable. */
  predicted: string | null;
  /** 1 when the completion had the `<think>…</think><answer>…</answer>` format. */
  format: number;
}

export interface ClassificationMetrics {
  n: number;
  accuracy: number;
  /** Mean of per-class recall over the classes present in the ground truth. */
  macroRecall: number;
  /** Recall of each label; labels absent from the ground truth get 0 and are left out of the macro mean. */
  perClassRecall: Record<string, number>;
  formatRate: number;
  /** Fraction of completions whose answer could not be parsed into a known label. */
  unparseableRate: number;
  /** rows = true label (in `labels` order), columns = predicted label, then one column for unparseable. */
  confusion: number[][];
}

export function confusionMatrix(preds: readonly Prediction[], labels: readonly string[]): number[][] {
  const index = new Map(labels.map((l, i) => [l, i] as const));
  const m = labels.map(() => new Array<number>(labels.length + 1).fill(0));
  for (const p of preds) {
    const row = index.get(p.label);
    if (row === undefined) throw new RangeError(`confusionMatrix: true label '${p.label}' is not one of ${labels.join(', ')}`);
    const col = p.predicted === null ? labels.length : index.get(p.predicted) ?? labels.length;
    m[row][col]++;
  }
  return m;
}

export function classificationMetrics(preds: readonly Prediction[], labels: readonly string[]): ClassificationMetrics {
  const confusion = confusionMatrix(preds, labels);
  const n = preds.length;
  let correct = 0;
  let formatted = 0;
  let unparseable = 0;
  for (const p of preds) {
    if (p.predicted !== null && p.predicted === p.label) correct++;
    if (p.predicted === null || !labels.includes(p.predicted)) unparseable++;
    formatted += p.format ? 1 : 0;
  }
  const perClassRecall: Record<string, number> = {};
  const recalls: number[] = [];
  labels.forEach((l, i) => {
    const support = confusion[i].reduce((a, b) => a + b, 0);
    perClassRecall[l] = support ? confusion[i][i] / support : 0;
    if (support) recalls.push(perClassRecall[l]);
  });
  return {
    n,
    accuracy: n ? correct / n : 0,
    macroRecall: recalls.length ? recalls.reduce((a, b) => a + b, 0) / recalls.length : 0,
    perClassRecall,
    formatRate: n ? formatted / n : 0,
    unparseableRate: n ? unparseable / n : 0,
    confusion,
  };
}

// ---- the eval report ----

export interface EvalModelReport {
  /** Stage id of the model's producer. */
  name: string;
  artifactId: string;
  n: number;
  accuracy: number;
  macroRecall: number;
  perClassRecall: Record<string, number>;
  formatRate: number;
  unparseableRate: number;
  /** rows = true label, columns = predicted label, plus a last column for unparseable. */
  confusion: number[][];
}

export interface EvalReport {
  split: string;
  labels: string[];
  models: EvalModelReport[];
}

export function modelReport(name: string, artifactId: string, m: ClassificationMetrics): EvalModelReport {
  return {
    name, artifactId, n: m.n, accuracy: m.accuracy, macroRecall: m.macroRecall,
    perClassRecall: m.perClassRecall, formatRate: m.formatRate, unparseableRate: m.unparseableRate,
    confusion: m.confusion,
  };
}

const pct = (x: number): string => (100 * x).toFixed(1);

/** Escapes what would break a Markdown table cell. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderEvalMarkdown(r: EvalReport): string {
  const head = ['model', 'n', 'accuracy %', 'macro recall %', 'format %', ...r.labels.map((l) => `${cell(l)} %`)];
  const lines = [
    `# Evaluation on the ${r.split} split`,
    '',
    'Recall per class is the fraction of that class\'s samples answered with it; unparseable answers count as wrong.',
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
  ];
  for (const m of r.models) {
    const row = [cell(m.name), String(m.n), pct(m.accuracy), pct(m.macroRecall), pct(m.formatRate),
      ...r.labels.map((l) => pct(m.perClassRecall[l] ?? 0))];
    lines.push(`| ${row.join(' | ')} |`);
  }
  for (const m of r.models) {
    lines.push('', `## Confusion matrix: ${cell(m.name)}`, '', 'Rows: true label; columns: predicted label.', '');
    const cols = ['true \\ predicted', ...r.labels.map(cell), 'unparseable'];
    lines.push(`| ${cols.join(' | ')} |`, `|${cols.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
    m.confusion.forEach((row, i) => lines.push(`| ${cell(r.labels[i])} | ${row.join(' | ')} |`));
  }
  return lines.join('\n') + '\n';
}

/** Headline metrics the stage returns: `<stage id>.<metric>` for each model. */
export function flatMetrics(r: EvalReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of r.models) {
    out[`${m.name}.accuracy`] = m.accuracy;
    out[`${m.name}.macroRecall`] = m.macroRecall;
    out[`${m.name}.formatRate`] = m.formatRate;
  }
  return out;
}
