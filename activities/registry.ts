// Where stage implementations come from: `activities/<kind>.ts`, taking `run<Kind>Stage` or the
// default export. Shared by the activity wrapper (inline mode) and the stage thread (thread mode),
// so this module imports nothing from Temporal: a stage thread loads only what its stage needs.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StageKind } from '../lib/plan/types';
import { STAGE_KINDS } from '../lib/plan/types';
import { ClgrpoError, ErrorType } from '../lib/errors';
import type { StageImplementation } from './types';

/** Stage kinds whose implementation file exists in this build. */
export function availableStageKinds(dir = __dirname): StageKind[] {
  return STAGE_KINDS.filter((k) => existsSync(join(dir, `${k}.ts`)) || existsSync(join(dir, `${k}.js`)));
}

/** Loads `activities/<kind>.ts` and takes `run<Kind>Stage` or its default export. */
export async function loadStageImplementation(kind: StageKind): Promise<StageImplementation> {
  if (!availableStageKinds().includes(kind)) {
    throw new ClgrpoError(ErrorType.Config, `stage kind '${kind}' is not available in this build (no activities/${kind}.ts)`);
  }
  // require, not import(): bin/ts-require.js hooks CommonJS only (see cli.ts).
  const mod = require(`./${kind}`) as Record<string, unknown>;
  const name = `run${kind[0].toUpperCase()}${kind.slice(1)}Stage`;
  const impl = mod[name] ?? mod.default;
  if (typeof impl !== 'function') {
    throw new ClgrpoError(ErrorType.Config, `activities/${kind}.ts exports neither '${name}' nor a default StageImplementation`);
  }
  return impl as StageImplementation;
}
