// Building teachers from the cot stage's resolved params. The params are validated by the spec
// schema before a run starts; the checks here catch what a schema cannot see (duplicate ids) and
// guard direct callers (tests, benches).
import { ClgrpoError, ErrorType } from '../errors';
import { AttributeTeacher } from './attributes';
import { OpenAiTeacher } from './openai';
import type { RetryPolicy } from './retry';
import type { Teacher } from './types';

export type TeacherSpec =
  | { type: 'attributes'; id?: string; noise?: number }
  | { type: 'openai'; id?: string; model: string; baseUrl: string; apiKeyEnv?: string; temperature?: number;
      maxTokens?: number; concurrency?: number; timeoutMs?: number };

export interface TeacherDeps {
  env: Readonly<Record<string, string | undefined>>;
  labels: readonly string[];
  /** Stage seed: the attributes teacher's noise draws derive from it. */
  seed: number;
  retry?: Partial<RetryPolicy>;
  random?: () => number;
}

export function createTeacher(spec: TeacherSpec, deps: TeacherDeps): Teacher {
  switch (spec.type) {
    case 'attributes':
      return new AttributeTeacher({ id: spec.id, noise: spec.noise }, deps.seed);
    case 'openai':
      if (/(^|[^a-z])(sk-|key=|token=)/i.test(spec.baseUrl)) {
        throw new ClgrpoError(ErrorType.Spec, `teacher ${spec.id ?? spec.model}: baseUrl seems to carry a credential; name an env var in apiKeyEnv instead`);
      }
      return new OpenAiTeacher({
        id: spec.id, model: spec.model, baseUrl: spec.baseUrl, apiKeyEnv: spec.apiKeyEnv,
        temperature: spec.temperature ?? 0.2, maxTokens: spec.maxTokens ?? 256,
        concurrency: spec.concurrency ?? 4, timeoutMs: spec.timeoutMs ?? 60_000,
      }, { env: deps.env, labels: deps.labels, retry: deps.retry, random: deps.random });
    default: {
      const t = (spec as { type?: unknown }).type;
      throw new ClgrpoError(ErrorType.Config, `cot params: unknown teacher type ${JSON.stringify(t)} (known: attributes, openai)`);
    }
  }
}

export function createTeachers(specs: readonly TeacherSpec[], deps: TeacherDeps): Teacher[] {
  if (specs.length === 0) throw new ClgrpoError(ErrorType.Config, 'cot params: teachers is empty; list at least one teacher');
  const teachers = specs.map((s) => createTeacher(s, deps));
  const seen = new Set<string>();
  for (const t of teachers) {
    if (seen.has(t.id)) throw new ClgrpoError(ErrorType.Config, `cot params: two teachers share the id '${t.id}'; give each an explicit id`);
    seen.add(t.id);
  }
  return teachers;
}

export type { Teacher, TeacherSample, TeacherReply, AskOptions } from './types';
