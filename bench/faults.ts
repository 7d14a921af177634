// The seeded crash loop at any size (test/faults/helpers/crash-loop.ts): a real dev server, the tiny
// dataset → pretrain → sft plan, SIGKILLs of the stage worker at seeded random moments. Prints and
// writes bench/results/crash-loop.json: kills, kills survived, repeated steps, lost/repeated stage
// completions, whether the artifacts equal the uninterrupted run's, leftovers, wall times.
// Usage: node --import tsx bench/faults.ts [kills=20] [seed=1]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer } from '../test/helpers/temporal';
import { crashLoop } from '../test/faults/helpers/crash-loop';

async function main(): Promise<void> {
  const kills = Number(process.argv[2] ?? 20);
  const seed = Number(process.argv[3] ?? 1);
  const server = await startTestServer();
  const t0 = Date.now();
  try {
    const r = await crashLoop(server, { kills, seed, delayMs: [0, 2500], log: (m) => console.log(m) });
    const runWalls = r.perRun.map((x) => x.wallMs).sort((a, b) => a - b);
    const out = {
      bench: 'crash-loop', date: new Date().toISOString(), seed, kills: r.kills, killsSurvived: r.killsSurvived,
      runs: r.runs, runsCompleted: r.runsCompleted, totalRepeatedSteps: r.totalRepeatedSteps,
      repeatedStepsPerKill: r.kills ? Number((r.totalRepeatedSteps / r.kills).toFixed(2)) : 0,
      repeatedCompletions: r.repeatedCompletions, lostCompletions: r.lostCompletions, recoveredCompletions: r.recoveredCompletions, identicalArtifacts: r.identicalArtifacts,
      leftovers: r.leftovers, problems: r.perRun.flatMap((x) => x.problems),
      referenceWallMs: r.referenceWallMs, medianRunWallMs: runWalls[runWalls.length >> 1] ?? 0, totalWallMs: Date.now() - t0,
      killedIn: r.perRun.reduce<Record<string, number>>((acc, x) => {
        for (const [k, v] of Object.entries(x.killedIn)) acc[k] = (acc[k] ?? 0) + v;
        return acc;
      }, {}),
    };
    console.log(JSON.stringify(out, null, 2));
    const dir = join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'crash-loop.json'), `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await server.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
