// The `openai` teacher: any OpenAI-compatible /chat/completions endpoint (vLLM, Ollama, LM Studio,
// hosted APIs), reached with Node's global fetch. The image goes as a base64 PNG data URL.
// The API key is read from the worker's environment by *name* at call time and only ever placed in
// the Authorization header: identities, errors and logs carry the variable's name, never its value,
// and any text that could echo it (a server's error body) is redacted first (FAULTS.md 10).
import { ClgrpoError, ErrorType } from '../errors';
import { buildPrompt, promptHash } from './prompt';
import { DEFAULT_RETRY, isTransientStatus, parseRetryAfter, publicUrl, redact, retryDelayMs, sleep } from './retry';
import type { RetryPolicy } from './retry';
import type { AskOptions, Teacher, TeacherReply, TeacherSample } from './types';
import type { JsonObject } from '../canonical';
import type { OpenaiTeacherResolved } from '../spec/spec-types.generated';

/** The resolved `openai` teacher params, generated from the schema (one source of truth). */
export type OpenAiTeacherParams = Omit<OpenaiTeacherResolved, 'type'>;

export interface OpenAiTeacherDeps {
  env: Readonly<Record<string, string | undefined>>;
  labels: readonly string[];
  retry?: Partial<RetryPolicy>;
  /** Jitter source; tests pass a fixed one. */
  random?: () => number;
}

/** Counters a run reports (and tests assert on). */
export interface OpenAiStats {
  requests: number;
  retries: number;
  byStatus: Record<string, number>;
}

type Attempt = { kind: 'ok'; reply: TeacherReply } | { kind: 'transient'; why: string; retryAfter: number | null };

export class OpenAiTeacher implements Teacher {
  readonly id: string;
  readonly identity: JsonObject;
  readonly promptHash: string;
  readonly concurrency: number;
  readonly stats: OpenAiStats = { requests: 0, retries: 0, byStatus: {} };
  private readonly retry: RetryPolicy;
  private readonly url: string;

  constructor(private readonly params: OpenAiTeacherParams, private readonly deps: OpenAiTeacherDeps) {
    this.id = params.id ?? params.model;
    this.promptHash = promptHash(deps.labels);
    this.concurrency = params.concurrency;
    this.retry = { ...DEFAULT_RETRY, ...deps.retry };
    this.url = `${params.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    // Only what changes the answers, and the key's variable name (useful, not secret).
    this.identity = {
      type: 'openai', id: this.id, model: params.model, baseUrl: publicUrl(params.baseUrl),
      apiKeyEnv: params.apiKeyEnv ?? null, temperature: params.temperature, maxTokens: params.maxTokens,
      promptHash: this.promptHash,
    };
    // Fail before any work when the variable is missing; the value itself is read at each call.
    this.apiKey();
  }

  private apiKey(): string | undefined {
    const name = this.params.apiKeyEnv;
    if (name === undefined) return undefined;
    const key = this.deps.env[name];
    if (key === undefined || key === '') {
      throw new ClgrpoError(ErrorType.Config, `teacher ${this.id}: environment variable ${name} (apiKeyEnv) is not set on the worker; export it before starting the worker`);
    }
    return key;
  }

  async ask(sample: TeacherSample, opts: AskOptions): Promise<TeacherReply> {
    const key = this.apiKey();
    const prompt = buildPrompt(this.deps.labels, opts.hint);
    const dataUrl = `data:image/png;base64,${Buffer.from(await sample.png()).toString('base64')}`;
    const body = JSON.stringify({
      model: this.params.model, temperature: this.params.temperature, max_tokens: this.params.maxTokens,
      messages: [
        { role: 'system', content: prompt.system },
        { role: 'user', content: [{ type: 'text', text: prompt.user }, { type: 'image_url', image_url: { url: dataUrl } }] },
      ],
    });
    let last = '';
    for (let retry = 0; ; retry++) {
      const a = await this.attempt(body, key, sample, opts.signal);
      if (a.kind === 'ok') return a.reply;
      last = a.why;
      if (retry >= this.retry.maxRetries) break;
      this.stats.retries++;
      await sleep(retryDelayMs(retry, a.retryAfter, this.retry, (this.deps.random ?? Math.random)()), opts.signal)
        .catch((e: unknown) => { throw cancelled(this.id, e); });
    }
    throw new ClgrpoError(ErrorType.TeacherUnavailable,
      `teacher ${this.id} at ${publicUrl(this.params.baseUrl)}: sample ${sample.index} still failing after ${this.retry.maxRetries + 1} tries (last: ${last}); the activity will be retried, finished samples are kept`,
      { details: { teacher: this.id, index: sample.index, tries: this.retry.maxRetries + 1 } });
  }

  private async attempt(body: string, key: string | undefined, sample: TeacherSample, outer?: AbortSignal): Promise<Attempt> {
    const signals = [AbortSignal.timeout(this.params.timeoutMs), ...(outer ? [outer] : [])];
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key !== undefined) headers.authorization = `Bearer ${key}`;
    this.stats.requests++;
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url, { method: 'POST', headers, body, signal: AbortSignal.any(signals) });
      text = await res.text();
    } catch (e) {
      if (outer?.aborted) throw cancelled(this.id, e);
      const why = (e as Error).name === 'TimeoutError' ? `no reply within ${this.params.timeoutMs} ms` : connectionError(e);
      this.count(why.startsWith('no reply') ? 'timeout' : 'connection');
      return { kind: 'transient', why: redact(why, [key]), retryAfter: null };
    }
    this.count(String(res.status));
    // Redact, then cut: cut first and a key straddling the cut keeps its first half in the excerpt.
    const excerpt = redact(text, [key]).slice(0, 200);
    if (res.status === 401 || res.status === 403) {
      throw new ClgrpoError(ErrorType.TeacherAuth,
        `teacher ${this.id} at ${publicUrl(this.params.baseUrl)} refused the credentials (HTTP ${res.status}: ${excerpt}); check the key in ${this.params.apiKeyEnv ?? '(no apiKeyEnv set)'}`,
        { details: { teacher: this.id, status: res.status } });
    }
    if (isTransientStatus(res.status)) {
      return { kind: 'transient', why: `HTTP ${res.status}`, retryAfter: parseRetryAfter(res.headers.get('retry-after'), Date.now()) };
    }
    if (!res.ok) {
      throw new ClgrpoError(ErrorType.Config,
        `teacher ${this.id}: ${publicUrl(this.url)} rejected the request for sample ${sample.index} (HTTP ${res.status}: ${excerpt}); check model and baseUrl`,
        { details: { teacher: this.id, status: res.status } });
    }
    return { kind: 'ok', reply: contentOf(text) };
  }

  private count(what: string): void {
    this.stats.byStatus[what] = (this.stats.byStatus[what] ?? 0) + 1;
  }
}

/** The assistant text of a chat completion; a reply we cannot read becomes empty text (malformed). */
export function contentOf(body: string): TeacherReply {
  try {
    const j = JSON.parse(body) as { choices?: Array<{ message?: { content?: unknown } }> };
    const c = j.choices?.[0]?.message?.content;
    if (typeof c === 'string') return { text: c };
    if (Array.isArray(c)) return { text: c.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join('') };
  } catch {
    // not JSON: fall through to an empty, malformed reply
  }
  return { text: '' };
}

function connectionError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return `connection failed (${cause?.code ?? cause?.message ?? (e as Error).message})`;
}

function cancelled(id: string, cause: unknown): ClgrpoError {
  return new ClgrpoError(ErrorType.Cancelled, `teacher ${id}: ask cancelled`, { cause });
}
