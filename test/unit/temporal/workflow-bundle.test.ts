// The workflow bundle cache key (lib/temporal/workflow-bundle.ts): it follows the raw bytes of every
// file the workflows reach (a comment too: it moves source-map lines) and the versions of the
// packages that build the bundle, and nothing else; a cached bundle under the key is served without
// webpack. Fixture repos in temp dirs, so the real cache is never touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cacheDir } from '../../../lib/disk-cache';
import { bundleCacheFile, cachedWorkflowBundle, workflowBundleKey } from '../../../lib/temporal/workflow-bundle';

function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'clgrpo-wfbundle-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

const FILES = {
  'workflows/index.ts': "export { pipeline } from './pipeline';\n",
  'workflows/pipeline.ts': "import { proxyActivities } from '@temporalio/workflow';\nimport { helper } from '../lib/helper';\nimport type { T } from '../lib/types-only';\nexport async function pipeline(t: T) { return helper(proxyActivities, t); }\n",
  'lib/helper.ts': 'export const helper = (a: unknown, b: unknown) => [a, b];\n',
  'lib/types-only.ts': 'export type T = number;\n',
  'lib/unrelated.ts': 'export const x = 1;\n',
  'node_modules/@temporalio/workflow/package.json': '{"version":"1.24.0"}',
};

test('the key covers the reached files byte for byte and the bundling packages, nothing else', () => {
  const root = fixture(FILES);
  try {
    const a = workflowBundleKey(root);
    assert.deepEqual(a.files, ['lib/helper.ts', 'workflows/index.ts', 'workflows/pipeline.ts']);
    assert.equal(workflowBundleKey(root).key, a.key, 'stable');
    writeFileSync(join(root, 'lib/unrelated.ts'), 'export const x = 2;\n');
    assert.equal(workflowBundleKey(root).key, a.key, 'a file the workflows do not reach');
    writeFileSync(join(root, 'lib/helper.ts'), '// a comment moves the source map\nexport const helper = (a: unknown, b: unknown) => [a, b];\n');
    const b = workflowBundleKey(root);
    assert.notEqual(b.key, a.key, 'a comment in a reached file');
    writeFileSync(join(root, 'node_modules/@temporalio/workflow/package.json'), '{"version":"1.25.0"}');
    assert.notEqual(workflowBundleKey(root).key, b.key, 'the SDK version');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a bundle cached under the current key is served as is', async () => {
  const root = fixture(FILES);
  try {
    const { key } = workflowBundleKey(root);
    mkdirSync(cacheDir(root), { recursive: true });
    writeFileSync(bundleCacheFile(root, key), '/* cached */');
    const got = await cachedWorkflowBundle(root);
    assert.equal(got.cached, true);
    assert.equal(got.code, '/* cached */');
    assert.equal(got.key, key);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
