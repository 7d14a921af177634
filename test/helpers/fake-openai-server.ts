// A loopback OpenAI-compatible /chat/completions server for teacher tests. It identifies the
// sample by decoding the PNG it was sent and hashing the pixels (the dataset's imageSha256), then
// answers the way a competent teacher would: from that sample's attributes with the task's rules
// (a rationalization ask is answered from its hint). Per test it can be told to fail: 429 with a
// Retry-After, 503, hang past the client's timeout, 401, malformed text, or a dropped connection.
// It counts calls per image, which is how tests prove a finished sample is never asked twice.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { sha256Hex } from '../../lib/canonical';
import { rngFor } from '../../lib/rng';
import { explain, rationalize } from '../../lib/teachers/attributes';
import { toRuleAttributes } from '../../lib/teachers/emoset-attributes';
import { hintFromPrompt } from '../../lib/teachers/prompt';

export type Fault =
  | { kind: '429'; retryAfter?: string }
  | { kind: '503' }
  | { kind: 'hang' }
  | { kind: '401' }
  | { kind: 'malformed'; text?: string }
  | { kind: 'drop' };

export interface CallInfo {
  imageKey: string;
  /** 1-based count of calls for this image so far, this one included. */
  nth: number;
  hint?: string;
  model: string;
}

export interface FakeOpenAiOptions {
  apiKey: string;
  /** imageSha256 → recorded attributes of that sample. */
  attributes: ReadonlyMap<string, Record<string, unknown>>;
  /** Delay before answering (simulates a model's latency). */
  latencyMs?: number;
}

export class FakeOpenAiServer {
  readonly calls = new Map<string, number>();
  totalCalls = 0;
  /** Requests refused for a bad/missing key. */
  authFailures = 0;
  /** Raw request bodies and headers are kept so tests can search them. */
  readonly log: CallInfo[] = [];
  faultFor: (call: CallInfo) => Fault | undefined = () => undefined;
  private server?: http.Server;
  baseUrl = '';

  constructor(private readonly opts: FakeOpenAiOptions) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake server error: ${(e as Error).message}`);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  resetCounts(): void {
    this.calls.clear();
    this.totalCalls = 0;
    this.log.length = 0;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404).end('not found');
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.opts.apiKey}`) {
      this.authFailures++;
      // Echo what was sent, as some real servers do: the client must redact it.
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `invalid api key: ${req.headers.authorization ?? 'none'}` } }));
      return;
    }
    const parsed = JSON.parse(body) as { model: string; messages: Array<{ content: unknown }> };
    const { png, text } = userParts(parsed.messages);
    const pixels = await sharp(png).removeAlpha().raw().toBuffer();
    const imageKey = sha256Hex(pixels);
    const nth = (this.calls.get(imageKey) ?? 0) + 1;
    this.calls.set(imageKey, nth);
    this.totalCalls++;
    const call: CallInfo = { imageKey, nth, hint: hintFromPrompt(text), model: parsed.model };
    this.log.push(call);
    const fault = this.faultFor(call);
    if (fault?.kind === 'hang') return; // never answers; the client's timeout must fire
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (this.opts.latencyMs) await new Promise((r) => setTimeout(r, this.opts.latencyMs));
    if (fault?.kind === '429') res.writeHead(429, fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }).end('rate limited');
    else if (fault?.kind === '503') res.writeHead(503).end('overloaded');
    else if (fault?.kind === '401') res.writeHead(401).end(`{"error":"key ${this.opts.apiKey} revoked"}`);
    else {
      const content = fault?.kind === 'malformed' ? (fault.text ?? 'I think it is awe.') : this.answer(call);
      res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id: `chatcmpl-${this.totalCalls}`, object: 'chat.completion', model: parsed.model, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
    }
  }

  private answer(call: CallInfo): string {
    const attrs = this.opts.attributes.get(call.imageKey);
    if (!attrs) return '<think>I cannot place this image.</think><answer>awe</answer>';
    const rule = toRuleAttributes(attrs);
    return call.hint ? rationalize(rule, call.hint) : explain(rule, rngFor(0, 'fake-server', call.imageKey));
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function userParts(messages: Array<{ content: unknown }>): { png: Buffer; text: string } {
  let url = '';
  let text = '';
  for (const m of messages) {
    if (!Array.isArray(m.content)) continue;
    for (const p of m.content as Array<{ type: string; text?: string; image_url?: { url: string } }>) {
      if (p.type === 'text') text += p.text ?? '';
      if (p.type === 'image_url') url = p.image_url?.url ?? '';
    }
  }
  const m = /^data:image\/png;base64,(.+)$/.exec(url);
  if (!m) throw new Error('request has no PNG data URL');
  return { png: Buffer.from(m[1], 'base64'), text };
}
