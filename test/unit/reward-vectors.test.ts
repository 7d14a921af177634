// The shared reward vectors (test/fixtures/reward-vectors.json): the TS rewards must give exactly the
// values the TRL trainer's rewards (trainers/trl/rewards.py) are tested against, so both trainers
// score a completion alike, including JS-vs-Python whitespace corners.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { accuracyReward, formatReward } from '../../lib/ml/rewards';

interface Vector { completion: string; label: string; format: number; accuracy: number; why: string }

const file = path.join(__dirname, '..', 'fixtures', 'reward-vectors.json');
const { vectors } = JSON.parse(fs.readFileSync(file, 'utf8')) as { vectors: Vector[] };

test('reward vectors: lib/ml/rewards.ts gives the shared values', () => {
  assert.ok(vectors.length >= 30, `only ${vectors.length} vectors`);
  const wrong = vectors.flatMap((v, i) => {
    const got = { format: formatReward(v), accuracy: accuracyReward(v) };
    return got.format === v.format && got.accuracy === v.accuracy ? [] : [`#${i} ${v.why}: got ${JSON.stringify(got)}`];
  });
  assert.deepEqual(wrong, []);
});
