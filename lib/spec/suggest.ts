// "Did you mean": the nearest valid name by edit distance, so a typo names its fix.

/** Damerau-style edit distance (adjacent transpositions cost 1), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i, ...new Array<number>(t.length).fill(0)]);
  for (let j = 1; j <= t.length; j++) d[0][j] = j;
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[s.length][t.length];
}

/** Normalized forms so `learning_rate` finds `lr`-less names like `learningRate`. */
function squash(s: string): string {
  return s.toLowerCase().replace(/[_\-.\s]/g, '');
}

/** Names from other trainers (TRL, HF) → ours, so `learning_rate` (or a typo of it) still finds `lr`. */
const SYNONYMS: Record<string, string> = {
  learningrate: 'lr', numgenerations: 'groupSize', numepochs: 'epochs', maxsteps: 'steps', epsilon: 'clip',
  perdevicetrainbatchsize: 'batchSize', maxcompletionlength: 'maxNewTokens', gradientclipping: 'gradClip',
  maxgradnorm: 'gradClip', kl: 'beta', klcoef: 'beta', depends: 'needs', dependson: 'needs', type: 'kind',
  apikey: 'apiKeyEnv', key: 'apiKeyEnv', token: 'apiKeyEnv', url: 'baseUrl', endpoint: 'baseUrl',
};

function synonym(word: string, candidates: readonly string[]): string | undefined {
  const w = squash(word);
  for (const [from, to] of Object.entries(SYNONYMS)) {
    if (candidates.includes(to) && editDistance(w, from) <= Math.max(1, Math.floor(from.length / 5))) return to;
  }
  return undefined;
}

/** Names are short; a longer "word" (a pasted value) gets no suggestion, so the O(n·m) distance stays cheap. */
export const MAX_SUGGEST_LENGTH = 64;

/** The closest candidate within a distance that scales with the word's length, or undefined. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > MAX_SUGGEST_LENGTH) return undefined;
  const syn = synonym(word, candidates);
  if (syn !== undefined) return syn;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c.length > MAX_SUGGEST_LENGTH) continue;
    const d = Math.min(editDistance(word, c), editDistance(squash(word), squash(c)));
    if (d < bestD) { best = c; bestD = d; }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return bestD <= limit ? best : undefined;
}

/** "did you mean 'x'? allowed: a, b, c" (the list capped so a message stays one line). */
export function suggestion(word: string, candidates: readonly string[], what = 'allowed'): string {
  const near = nearest(word, candidates); // undefined for over-long words
  const list = candidates.length > 24 ? `${candidates.slice(0, 24).join(', ')}, ...` : candidates.join(', ');
  return `${near !== undefined ? `did you mean '${near}'? ` : ''}${what}: ${list}`;
}
