// The spec validator is ajv's generated code kept as a module in the disk cache (issue 14: compiling
// the schema was ~0.3 s of every CLI process). The cached module must judge exactly as a fresh ajv
// compile does: same verdict and same errors (keyword, paths, params, data, message) for every bad
// spec fixture and every good one, for the whole spec and for each `$defs` validator the matrix
// cells use; and its file name follows the schema's content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { compileValidators, validateSchema, validatorCacheFile } from '../../../lib/spec/schema';

const SPECS = join(__dirname, '..', '..', 'fixtures', 'specs');
const docs = ['bad', 'good'].flatMap((d) => readdirSync(join(SPECS, d)).filter((f) => f.endsWith('.yaml'))
  .map((f) => ({ name: `${d}/${f}`, value: parseDocument(readFileSync(join(SPECS, d, f), 'utf8')).toJS() as unknown })));

type Fn = ((v: unknown) => boolean) & { errors?: unknown[] | null };
function judge(fn: Fn, value: unknown): unknown {
  const ok = fn(value);
  // parentSchema/schema are the same JSON either way; compare them as data
  return { ok, errors: JSON.parse(JSON.stringify(fn.errors ?? [])) as unknown };
}

test('the cached validator module exists after a validation and judges every fixture as a fresh ajv compile', () => {
  validateSchema({});
  const file = validatorCacheFile();
  assert.ok(existsSync(file), `no cached validator at ${file}`);
  const cached = require(file) as Record<string, Fn>;
  const fresh = compileValidators();
  assert.ok(docs.length > 40, `only ${docs.length} fixtures`);
  for (const d of docs) {
    assert.deepEqual(judge(cached.main, d.value), judge(fresh.main, d.value), d.name);
    const stages = (d.value as { stages?: Record<string, { params?: unknown }> } | null)?.stages;
    for (const st of Object.values(stages && typeof stages === 'object' ? stages : {})) {
      for (const def of ['datasetParams', 'sftParams', 'grpoParams', 'evalParams']) {
        assert.deepEqual(judge(cached[`def_${def}`], st?.params), judge(fresh.defs[def], st?.params), `${d.name} ${def}`);
      }
    }
  }
});

test('the cache file is named by the schema, ajv and the options', () => {
  assert.match(validatorCacheFile(), /node_modules\/\.cache\/clgrpo\/spec-validator-[0-9a-f]{32}\.js$/);
  assert.equal(validatorCacheFile(), validatorCacheFile());
});
