// ReportData: everything the run report shows, gathered once (lib/report/collect.ts) and rendered
// twice (render-md.ts, render-html.ts). Plain JSON so a fixture, a test or another tool can build one
// without a store. Shapes of the embedded stage outputs follow docs/CONTRACTS.md "Report inputs".
import type { JsonObject, JsonValue } from '../canonical';
import type { ArtifactKind, StageKind } from '../plan/types';

/** A curve as the trainers write it: [step, value] pairs in step order. */
export type Series = Array<[number, number]>;

export interface RunSummary {
  /** Workflow id: the name `clgrpo report <run>` takes. */
  id: string;
  pipeline: string;
  status?: string;
  specHash?: string;
  seed?: number;
  startedAt?: string;
  finishedAt?: string;
  wallSeconds?: number;
}

/** One concrete plan stage of one run, as far as the report needs it. */
export interface StageInfo {
  /** Concrete id, e.g. `grpo[seed=2]`. Unique within its run. */
  id: string;
  /** The spec id it came from (matrix cells share it). */
  baseId: string;
  kind: StageKind;
  runId: string;
  seed?: number;
  matrix?: Record<string, JsonValue>;
  /** Resolved params (the report reads `target`, `rewards`, `clip`, `steps`). */
  params?: JsonObject;
  artifactId?: string;
  artifactKind?: ArtifactKind;
  /** True when the stage reused an artifact made earlier instead of running. */
  reused?: boolean;
  status?: string;
  wallSeconds?: number;
}

/** One model's eval numbers (eval report.json `models[]`), fractions in [0, 1]. */
export interface ModelResult {
  /** Concrete stage id of the model that was evaluated. */
  stageId: string;
  runId: string;
  artifactId: string;
  n: number;
  accuracy: number;
  macroRecall: number;
  perClassRecall: Record<string, number>;
  formatRate: number;
  /** Rows = true label, columns = predicted label plus a last column for unparseable answers. */
  confusion: number[][];
}

export interface EvalResults {
  /** The eval stage that produced these numbers. */
  stageId: string;
  runId: string;
  split: string;
  labels: string[];
  models: ModelResult[];
}

/** A training stage's `training.json`. */
export interface TrainingCurves {
  stageId: string;
  runId: string;
  kind: string;
  steps: number;
  curves: Record<string, Series>;
}

export interface CotClassStats { asked: number; kept: number; keepRate: number }
export interface CotTeacherStats { asked: number; verified: number; malformed: number; keepRate: number }

/** A cot stage's `report.json`. */
export interface CotStats {
  stageId: string;
  runId: string;
  asked: number;
  kept: number;
  keepRate: number;
  perClass: Record<string, CotClassStats>;
  perTeacher: Record<string, CotTeacherStats>;
  agreement?: { pairs: Array<{ a: string; b: string; agree: number; total: number }> };
  malformed: number;
}

export interface LineageNode {
  /** `<runId>/<stageId>` when several runs are shown, else the stage id. */
  id: string;
  label: string;
  kind: StageKind;
  artifactKind?: ArtifactKind;
  artifactId?: string;
  reused?: boolean;
  /** The stage behind the node (lets a chart find a stage's parent). */
  runId?: string;
  stageId?: string;
}

export interface LineageEdge {
  from: string;
  to: string;
  /** Input name the edge binds (`model`, `dataset`, ...). */
  input: string;
}

export interface LineageGraph {
  nodes: LineageNode[];
  edges: LineageEdge[];
}

export interface ReportData {
  /** Usually one run; several runs of the same pipeline (other seeds) aggregate like a matrix. */
  runs: RunSummary[];
  stages: StageInfo[];
  evals: EvalResults[];
  curves: TrainingCurves[];
  cot: CotStats[];
  lineage: LineageGraph;
  /** When the report was generated (ISO time); kept out of the maths. */
  generatedAt: string;
  /** Problems met while collecting (a missing file...): shown, never hidden. */
  warnings: string[];
}
