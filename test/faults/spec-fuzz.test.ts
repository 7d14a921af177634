// FAULTS 1–9 under fuzzing: ≥ 1,000 seeded mutations of the shipped specs (key drops, type swaps,
// typo'd and prototype keys, deep nesting, huge strings, binary junk, byte flips, truncation, many
// documents) go through the real loader and compiler. Every outcome must be a plan or located
// errors (file:line:col inside the text, a type from lib/errors, a message); never an exception,
// never a hang (each case is timed), and Object.prototype is never touched.
// Reproduce one case: CLGRPO_FUZZ_SEED=<seed> CLGRPO_FUZZ_CASES=<n> (the failure names its index).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { ErrorType } from '../../lib/errors';
import { compilePlan } from '../../lib/plan';
import { loadSpecText, type LocatedError } from '../../lib/spec';
import { rngFor, type Rng } from '../../lib/rng';

const REPO = path.resolve(__dirname, '../..');
const BASES = [
  ...fs.readdirSync(path.join(REPO, 'pipelines')).filter((f) => f.endsWith('.yaml')).map((f) => path.join(REPO, 'pipelines', f)),
  ...fs.readdirSync(path.join(REPO, 'test/fixtures/specs/good')).filter((f) => f.endsWith('.yaml')).map((f) => path.join(REPO, 'test/fixtures/specs/good', f)),
].map((f) => fs.readFileSync(f, 'utf8'));
const TYPES = new Set<string>(Object.values(ErrorType));
const PER_CASE_MS = Number(process.env.CLGRPO_FUZZ_CASE_MS ?? 2000);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[r.int(xs.length)];

/** Every (container, key) pair in the tree, for choosing a mutation site. */
function sites(v: Json, out: Array<{ parent: Json[] | Record<string, Json>; key: string | number }> = []) {
  if (Array.isArray(v)) v.forEach((c, i) => { out.push({ parent: v, key: i }); sites(c, out); });
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) { out.push({ parent: v, key: k }); sites(v[k], out); }
  return out;
}

function swapType(r: Rng, v: Json): Json {
  const options: Json[] = [String(v), Number(String(v).length) + 0.5, true, null, [v], { v }, '1e-4', -1, 1e308, '', 'x'.repeat(r.int(40))];
  return pick(r, options);
}

function nest(r: Rng, v: Json, depth: number): Json {
  let out = v;
  for (let i = 0; i < depth; i++) out = r.next() < 0.5 ? [out] : { [`k${i}`]: out };
  return out;
}

/** One structural mutation of the parsed spec, stringified back to YAML. */
function structural(r: Rng, base: string): string {
  const doc = parse(base) as Json;
  const all = sites(doc);
  const times = 1 + r.int(3);
  for (let t = 0; t < times && all.length; t++) {
    const { parent, key } = pick(r, all);
    const obj = parent as Record<string | number, Json>;
    switch (r.int(7)) {
      case 0: if (Array.isArray(parent)) parent.splice(key as number, 1); else delete obj[key]; break;
      case 1: obj[key] = swapType(r, obj[key]); break;
      case 2: obj[key] = nest(r, obj[key], 5 + r.int(300)); break;
      case 3: obj[key] = 'A'.repeat(1000 + r.int(300_000)); break;
      case 4: if (!Array.isArray(parent)) { obj[`${String(key)}x`.replace(/^(.)(.)/, '$2$1')] = obj[key]; delete obj[key]; } break;
      case 5: if (!Array.isArray(parent)) Object.defineProperty(obj, pick(r, ['__proto__', 'constructor', 'prototype']), { value: { polluted: true }, enumerable: true, configurable: true, writable: true }); break;
      default: obj[key] = pick<Json>(r, [{ kind: 'nope' }, '../../etc/passwd', '/abs', 'a\u0000b', 'sk-live-abcdefghijklmnopqrstuvwx', -0, 1.5, [[]], {}]);
    }
  }
  return stringify(doc);
}

/** One textual mutation: junk bytes, flips, truncation, repeated documents, aliases, tags. */
function textual(r: Rng, base: string): string {
  const buf = Buffer.from(base);
  const at = r.int(buf.length + 1);
  switch (r.int(8)) {
    case 0: return Buffer.concat([buf.subarray(0, at), Buffer.from(Array.from({ length: 1 + r.int(64) }, () => r.int(256))), buf.subarray(at)]).toString('latin1');
    case 1: { for (let i = 0; i < 1 + r.int(8); i++) buf[r.int(buf.length)] ^= 1 << r.int(8); return buf.toString('utf8'); }
    case 2: return base.slice(0, at);
    case 3: return `${base}\n---\n${base}`.repeat(1 + r.int(3));
    case 4: return `${base.slice(0, at)}\n&a x: *a\n${base.slice(at)}`;
    case 5: return `${base.slice(0, at)} !!js/function 'f' ${base.slice(at)}`;
    case 6: return base.split('\n').map((l) => (r.next() < 0.1 ? `\t${l}` : l)).join('\n');
    default: return `${base.slice(0, at)}${'['.repeat(1 + r.int(2000))}${base.slice(at)}`;
  }
}

function checkLocated(e: LocatedError, text: string, where: string): void {
  const lines = text.split('\n').length;
  assert.ok(TYPES.has(e.type), `${where}: error type ${e.type}`);
  assert.equal(e.file, 'fuzz.yaml', where);
  assert.ok(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines + 1, `${where}: line ${e.line} of ${lines}`);
  assert.ok(Number.isInteger(e.col) && e.col >= 1, `${where}: col ${e.col}`);
  assert.ok(typeof e.message === 'string' && e.message.length > 0, `${where}: empty message`);
}

test('spec fuzz: every mutated spec gives a plan or located errors, never a crash or a hang', { timeout: 300_000 }, (t) => {
  const seed = Number(process.env.CLGRPO_FUZZ_SEED ?? 20261126);
  const cases = Number(process.env.CLGRPO_FUZZ_CASES ?? 1200);
  const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort().join();
  const tally = { valid: 0, rejected: 0, compileErrors: 0, slowestMs: 0 };
  for (let i = 0; i < cases; i++) {
    const r = rngFor(seed, 'spec-fuzz', i);
    const base = pick(r, BASES);
    const text = r.next() < 0.55 ? structural(r, base) : textual(r, base);
    if (process.env.CLGRPO_FUZZ_DUMP === String(i)) fs.writeFileSync(path.join(REPO, 'tmp', `fuzz-case-${i}.yaml`), text);
    if (process.env.CLGRPO_FUZZ_DEBUG) t.diagnostic(`case ${i}: ${text.length} chars: ${JSON.stringify(text.slice(0, 120))}`);
    const where = `case ${i} (seed ${seed})`;
    const t0 = performance.now();
    let outcome: 'valid' | 'rejected' | 'compileErrors';
    try {
      const loaded = loadSpecText(text, 'fuzz.yaml');
      if ('errors' in loaded) {
        assert.ok(loaded.errors.length > 0, `${where}: rejected without an error`);
        for (const e of loaded.errors) checkLocated(e, text, where);
        outcome = 'rejected';
      } else {
        const c = compilePlan(loaded.spec);
        if ('errors' in c) {
          for (const e of c.errors) checkLocated(e, text, where);
          outcome = 'compileErrors';
        } else {
          assert.ok(c.plan.stages.length > 0, `${where}: empty plan`);
          outcome = 'valid';
        }
      }
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      assert.fail(`${where}: the loader threw ${(e as Error).stack}\n--- spec (first 500 chars) ---\n${text.slice(0, 500)}`);
    }
    const ms = performance.now() - t0;
    tally[outcome] += 1;
    tally.slowestMs = Math.max(tally.slowestMs, Math.round(ms));
    if (process.env.CLGRPO_FUZZ_DEBUG && ms > 300) t.diagnostic(`SLOW case ${i}: ${Math.round(ms)} ms, ${outcome}`);
    assert.ok(ms < PER_CASE_MS, `${where}: took ${Math.round(ms)} ms (a hang?)`);
  }
  assert.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(), protoBefore, 'Object.prototype changed');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  t.diagnostic(`spec fuzz: ${cases} cases, ${JSON.stringify(tally)}`);
  assert.ok(tally.valid > 0 && tally.rejected > cases / 3, `a useful mix of outcomes: ${JSON.stringify(tally)}`);
});
