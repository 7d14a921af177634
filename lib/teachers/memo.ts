// Per-sample memo of teacher replies: a finished ask is written the moment it arrives, so a crash,
// an activity retry or a rerun never asks a teacher again for it (FAULTS.md 19). Append-only JSONL
// in the stage's persistent work dir; each line is written with one write() call as it arrives
// (it survives a SIGKILL of the process) and the file is fsynced once per batch (it survives a
// machine crash up to the last batch). A crash can leave a torn last line: it is ignored on load
// and closed off with a newline before the next append, so later lines stay parseable. Only ever
// appended to, so a hung earlier attempt still writing cannot lose a line written by this one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hashJson } from '../canonical';
import type { JsonObject } from '../canonical';

export const MEMO_FILE = 'teacher-memo.jsonl';

export interface MemoKeyParts {
  /** Teacher identity: id, type, model, sampling params (no secrets). */
  identity: JsonObject;
  promptHash: string;
  imageSha256: string;
  tryIndex: number;
  /** The rationalization hint, when the ask carried one (a different question, a different key). */
  hint?: string;
}

export function memoKey(parts: MemoKeyParts): string {
  return hashJson({ v: 1, ...parts, hint: parts.hint ?? null });
}

export interface MemoEntry {
  key: string;
  teacher: string;
  index: number;
  text: string;
}

export class TeacherMemo {
  private readonly entries = new Map<string, MemoEntry>();
  private fd: number;
  /** Lines dropped on load (a torn tail or a corrupt line): reported, never fatal. */
  readonly droppedLines: number;

  private constructor(readonly file: string, fd: number, dropped: number) {
    this.fd = fd;
    this.droppedLines = dropped;
  }

  static open(workDir: string): TeacherMemo {
    fs.mkdirSync(workDir, { recursive: true });
    const file = path.join(workDir, MEMO_FILE);
    const raw = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    const entries: MemoEntry[] = [];
    let dropped = 0;
    for (const line of raw.split('\n')) {
      if (line === '') continue;
      const e = parseEntry(line);
      if (e) entries.push(e);
      else dropped++;
    }
    const fd = fs.openSync(file, 'a');
    // A torn tail (a write that never finished) is closed off with a newline rather than cut off:
    // truncating could race with a hung earlier attempt still appending to the same file.
    if (raw.length > 0 && !raw.endsWith('\n')) fs.writeSync(fd, '\n');
    const memo = new TeacherMemo(file, fd, dropped);
    for (const e of entries) memo.entries.set(e.key, e);
    return memo;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): MemoEntry | undefined {
    return this.entries.get(key);
  }

  /** Record a finished ask now (one write call: whole line or, after a crash, a torn tail). */
  put(entry: MemoEntry): void {
    if (this.entries.has(entry.key)) return;
    fs.writeSync(this.fd, JSON.stringify(entry) + '\n');
    this.entries.set(entry.key, entry);
  }

  /** Make everything written so far durable; called once per batch. */
  sync(): void {
    fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd < 0) return;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}

function parseEntry(line: string): MemoEntry | null {
  try {
    const v = JSON.parse(line) as Partial<MemoEntry>;
    if (typeof v.key === 'string' && typeof v.text === 'string' && typeof v.teacher === 'string' && typeof v.index === 'number') {
      return { key: v.key, teacher: v.teacher, index: v.index, text: v.text };
    }
  } catch {
    // a corrupt line is dropped and counted, the rest of the memo still counts
  }
  return null;
}
