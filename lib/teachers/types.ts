// The teacher contract: what the cot stage asks of a teacher, and what it gets back. A teacher
// turns one (image, label) sample into raw completion text; parsing, verification, voting and the
// memo live outside it, so every teacher kind is judged by the same code.
import type { JsonObject } from '../canonical';

/** One training sample as the teachers see it (a row of the dataset's train split). */
export interface TeacherSample {
  index: number;
  label: string;
  labelId: number;
  /** Recorded attributes: the synthetic task's seven, or EmoSet's annotations. */
  attributes: Record<string, unknown>;
  /** sha256 of the sample's pixels (from the dataset): the image part of the memo key. */
  imageSha256: string;
  /** The image as PNG bytes, built on demand (only remote teachers need it). */
  png(): Promise<Uint8Array>;
}

export interface AskOptions {
  /** Which of the `samplesPerTeacher` tries this is (0-based); part of the memo key and of any seeding. */
  tryIndex: number;
  /** Rationalization pass: the ground-truth label given as a hint. */
  hint?: string;
  /** Aborted when the stage is cancelled. */
  signal?: AbortSignal;
}

export interface TeacherReply {
  text: string;
}

export interface Teacher {
  /** Stable id (the spec's `id`, else derived from type and model): names the teacher in reports. */
  readonly id: string;
  /**
   * What determines the teacher's answers, without secrets: type, model, endpoint (without
   * credentials), sampling params, prompt hash. It goes into lineage and the memo key.
   */
  readonly identity: JsonObject;
  /** Hash of the prompt template this teacher uses (part of the memo key and the lineage). */
  readonly promptHash: string;
  /** How many asks may be in flight at once for this teacher. */
  readonly concurrency: number;
  ask(sample: TeacherSample, opts: AskOptions): Promise<TeacherReply>;
}
