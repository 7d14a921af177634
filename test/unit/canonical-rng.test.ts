import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, hashJson } from '../../lib/canonical';
import { Rng, rngFor } from '../../lib/rng';

test('canonical JSON sorts keys and normalizes numbers', () => {
  assert.equal(canonicalJson({ b: 1, a: [1e-4, -0, 'x'] }), '{"a":[0.0001,0,"x"],"b":1}');
  assert.equal(hashJson({ a: 1, b: 2 }), hashJson({ b: 2, a: 1 }));
  assert.throws(() => canonicalJson({ a: NaN }), /non-finite/);
});

test('rng state round-trips and streams are scoped', () => {
  const r = rngFor(7, 'sft', 'shuffle');
  r.next();
  const saved = r.state();
  const a = [r.next(), r.next(), r.nextUint32()];
  const b = new Rng(saved);
  assert.deepEqual([b.next(), b.next(), b.nextUint32()], a);
  assert.notEqual(rngFor(7, 'a').next(), rngFor(7, 'b').next());
  assert.equal(rngFor(7, 'a').next(), rngFor(7, 'a').next());
});
