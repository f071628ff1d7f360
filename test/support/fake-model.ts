// A fake OpenAI-compatible Chat Completions server: the only stand-in in the suite. The real `openai`
// client talks to it over HTTP. By default it answers every schema the IdeaAgent uses with valid,
// deterministic output; tests queue one-shot replies (errors, invalid JSON, a hang) per schema name.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the request asked for structure (see src/clients/structured-modes.ts); `native`: tools, tool_choice required. */
export type RequestMode = 'json_schema' | 'json_object' | 'tools' | 'prompt' | 'native';

export interface RecordedRequest {
  /** The schema's name; agent steps (native tool calls or `agent_action` answers) are all "agent". */
  schemaName: string;
  mode: RequestMode;
  /** The path before /v1 the client was given (`/w2` for http://…/w2/v1): which worker asked. */
  via: string;
  model: string;
  messages: Array<{ role: string; content: string }>;
  body: Record<string, unknown>;
}

export type FakeReply =
  /** noUsage: answer without `usage`, as some local servers do. */
  | { content: string; promptTokens?: number; completionTokens?: number; noUsage?: boolean; truncated?: boolean }
  /** An agent step: the model calls this tool (requests with tools are recorded under the name "agent"). */
  | { tool: string; args: Record<string, unknown> | string; thought?: string; native?: boolean }
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { hang: true }
  /** This reply, once `after` resolves: holds a step while the test changes the world around it. */
  | { after: Promise<unknown>; then: FakeReply };

export interface FakeModel {
  baseUrl: string;
  requests: RecordedRequest[];
  /** Queue a one-shot reply for the next request with this schema name. */
  enqueue(schemaName: string, reply: FakeReply): void;
  /**
   * Answers requests with this schema name from what they ask (before any queued reply; undefined: fall
   * through): a retried request gets the same answer as the first, whichever worker sends it.
   */
  respond(schemaName: string, fn: (req: RecordedRequest) => FakeReply | undefined): void;
  /** Resolves when a request with this schema name arrives (counting ones already received). */
  waitFor(schemaName: string, count?: number): Promise<RecordedRequest>;
  requestsFor(schemaName: string): RecordedRequest[];
  close(): Promise<void>;
}

export function analysisReply(): string {
  return JSON.stringify({
    taskDefinition: {
      problem: 'Classify tabular records into classes',
      inputs: 'numeric feature vectors',
      outputs: 'a class label',
      datasets: ['iris'],
      metrics: ['accuracy'],
    },
    gaps: [{ gap: 'No study of feature scaling', evidence: 'Section 4 uses raw features only' }],
    keywords: ['tabular classification', 'feature scaling'],
  });
}

export function ideasReply(count: number, prefix = 'Idea'): string {
  return JSON.stringify({
    ideas: Array.from({ length: count }, (_, i) => ({
      title: `${prefix} ${i + 1}`,
      problem: 'Raw features hurt linear models',
      motivation: 'Scaling is cheap',
      hypothesis: `Scaling variant ${i + 1} raises accuracy`,
      experimentPlan: {
        steps: ['Train the baseline', 'Add scaling', 'Compare accuracy over seeds'],
        dataset: 'iris',
        model: 'logistic regression',
        metric: 'accuracy',
        baseline: 'unscaled logistic regression',
        expectedOutcome: 'a small accuracy gain',
      },
      noveltyScore: 5 + (i % 5),
      feasibilityScore: 8,
      rationale: 'Directly addresses the gap',
    })),
  });
}

/** Ranks ideas in reverse order, so the top-ranked idea is the last one proposed. */
export function reviewReply(count: number): string {
  return JSON.stringify({
    rankings: Array.from({ length: count }, (_, i) => ({
      index: count - 1 - i,
      score: 9 - i * 0.5,
      critique: 'Clear and testable.',
    })),
  });
}

/**
 * What a weak model gives: schema-valid, but it reviews index 1 twice, names an index that does not exist,
 * lists a worse idea first and skips the last idea.
 */
export function weakReviewReply(count: number): string {
  return JSON.stringify({
    rankings: [
      { index: 1, score: 4, critique: 'Fine.' },
      { index: 0, score: 8, critique: 'Good.' },
      { index: 1, score: 9, critique: 'Again.' },
      { index: count + 5, score: 10, critique: 'Imaginary.' },
    ],
  });
}

function defaultReply(req: RecordedRequest): string {
  const prompt = req.messages.map((m) => m.content).join('\n');
  if (req.schemaName === 'paper_analysis') return analysisReply();
  if (req.schemaName === 'research_ideas')
    return ideasReply(Number(/exactly (\d+) research ideas/.exec(prompt)?.[1] ?? 3));
  if (req.schemaName === 'mode_probe') return JSON.stringify({ ok: true });
  if (req.schemaName === 'task_choice') {
    const schema = schemaOf(req) as { properties: { taskId: { enum: string[] } } };
    return JSON.stringify({ taskId: schema.properties.taskId.enum[0], rationale: 'The first task fits.' });
  }
  if (req.schemaName === 'report_discussion') {
    return JSON.stringify({
      interpretation: 'The candidate changed the measured metric; see the table.',
      limitations: ['A single data set.'],
    });
  }
  if (req.schemaName === 'file_description') {
    const part = prompt.includes('Descriptions of consecutive parts')
      ? undefined
      : /characters (\d+-\d+)/.exec(prompt)?.[1];
    return JSON.stringify({ description: part ? `Part ${part} holds rows of numbers.` : 'A file of rows of numbers.' });
  }
  if (req.schemaName === 'observation_summary') {
    return JSON.stringify({ summary: 'The script printed a long table; its last line reports the validation score.' });
  }
  if (req.schemaName === 'idea_review') {
    const listed = /\n\n(\[[\s\S]*\])$/.exec(req.messages[req.messages.length - 1]!.content)?.[1];
    return reviewReply(listed ? (JSON.parse(listed) as unknown[]).length : 3);
  }
  throw new Error(`fake model has no default reply for schema ${req.schemaName}`);
}

type Body = Record<string, unknown>;
interface Format {
  type?: string;
  json_schema?: { name?: string; schema?: unknown };
  schema?: { title?: string };
}
interface NamedChoice {
  function?: { name?: string };
}
const PROMPTED = /JSON schema "(\w+)":\n(.*)$/s;

/** The mode and schema name of a request, read as each mode writes them. */
function classify(body: Body): { mode: RequestMode; name: string } {
  const format = body.response_format as Format | undefined;
  const choice = body.tool_choice as NamedChoice | string | undefined;
  let found: { mode: RequestMode; name: string };
  if (body.tools && typeof choice === 'object') found = { mode: 'tools', name: choice.function?.name ?? '' };
  else if (body.tools) found = { mode: 'native', name: 'agent' };
  else if (format?.type === 'json_schema') found = { mode: 'json_schema', name: format.json_schema?.name ?? '' };
  else if (format?.type === 'json_object') found = { mode: 'json_object', name: format.schema?.title ?? '' };
  else {
    const last = (body.messages as Array<{ content: string }>).at(-1)?.content ?? '';
    found = { mode: 'prompt', name: PROMPTED.exec(last)?.[1] ?? '' };
  }
  return found.name === 'agent_action' ? { ...found, name: 'agent' } : found;
}

/** The JSON schema a structured request carries, in whichever mode it came. */
export function schemaOf(req: RecordedRequest): unknown {
  const body = req.body;
  if (req.mode === 'json_schema') return (body.response_format as Format).json_schema?.schema;
  if (req.mode === 'json_object') return (body.response_format as Format).schema;
  if (req.mode === 'tools') return (body.tools as Array<{ function: { parameters: unknown } }>)[0]!.function.parameters;
  if (req.mode === 'prompt') return JSON.parse(PROMPTED.exec(req.messages.at(-1)!.content)![2]!);
  return undefined;
}

export interface FakeModelOptions {
  /**
   * Behave as llama-cpp-python's server 0.3.36 does (docs/models-and-hub.md): `json_schema` answered with a 500,
   * `tool_choice: "required"` ignored (empty content, no call).
   */
  server?: 'openai' | 'llama-cpp';
}

export async function startFakeModel(options: FakeModelOptions = {}): Promise<FakeModel> {
  const requests: RecordedRequest[] = [];
  const queues = new Map<string, FakeReply[]>();
  const responders = new Map<string, (req: RecordedRequest) => FakeReply | undefined>();
  const waiters: Array<{ name: string; count: number; resolve: (r: RecordedRequest) => void }> = [];
  const hung = new Set<http.ServerResponse>();

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => {
      raw += d;
    });
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404).end(JSON.stringify({ error: { message: 'not found' } }));
        return;
      }
      const body = JSON.parse(raw) as Body;
      const { mode, name } = classify(body);
      const rec: RecordedRequest = {
        schemaName: name,
        mode,
        via: req.url.slice(0, req.url.indexOf('/v1/')),
        model: String(body.model),
        body,
        messages: body.messages as RecordedRequest['messages'],
      };
      requests.push(rec);
      if (options.server === 'llama-cpp' && mode === 'json_schema') {
        const message = "1 validation error: response_format.type: Input should be 'text' or 'json_object'";
        return answer(res, rec, { status: 500, body: { error: { message, type: 'internal_server_error' } } });
      }
      if (options.server === 'llama-cpp' && mode === 'native') return answer(res, rec, { content: '' });
      for (const w of [...waiters]) {
        if (requestsFor(w.name).length >= w.count) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(rec);
        }
      }
      // With nothing queued, the agent finishes at once: the candidate is then the starter code.
      let fallback: FakeReply;
      try {
        fallback =
          rec.schemaName === 'agent'
            ? { tool: 'final_answer', args: { final_answer: 'No changes.' } }
            : { content: defaultReply(rec) };
      } catch (err) {
        // An unscripted request is a test bug: answer it with an error the run reports, rather than hang.
        fallback = { status: 400, body: { error: { message: (err as Error).message, type: 'fake' } } };
      }
      const next = responders.get(rec.schemaName)?.(rec) ?? queues.get(rec.schemaName)?.shift() ?? fallback;
      if ('after' in next) void next.after.then(() => answer(res, rec, next.then));
      else answer(res, rec, next);
    });
  });

  function answer(res: http.ServerResponse, rec: RecordedRequest, reply: FakeReply): void {
    if ('after' in reply) return answer(res, rec, reply.then);
    if ('hang' in reply) {
      hung.add(res);
      return;
    }
    if ('status' in reply) {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(reply.body ?? { error: { message: `fake error ${reply.status}`, type: 'fake' } }));
      return;
    }
    if ('tool' in reply && rec.mode !== 'native' && !reply.native) {
      const step = { thought: reply.thought, tool: reply.tool, args: reply.args };
      const args = typeof reply.args === 'string' ? reply.args : JSON.stringify(reply.args);
      // A string of arguments is the model's raw text (maybe broken JSON): it stays broken here too.
      const content =
        typeof reply.args === 'string' ? `{"tool": "${reply.tool}", "args": ${args}}` : JSON.stringify(step);
      // In tools mode the answer is the named tool's arguments (below); otherwise it is the content.
      return answer(
        res,
        rec,
        rec.mode === 'tools' ? { tool: 'agent_action', args: content, native: true } : { content },
      );
    }
    if ('content' in reply && rec.mode === 'tools') {
      return answer(res, rec, { tool: rec.schemaName, args: reply.content, native: true });
    }
    const message =
      'tool' in reply
        ? {
            role: 'assistant',
            content: reply.thought ?? null,
            tool_calls: [
              {
                id: `call_${requests.length}`,
                type: 'function',
                function: {
                  name: reply.tool,
                  arguments: typeof reply.args === 'string' ? reply.args : JSON.stringify(reply.args),
                },
              },
            ],
          }
        : { role: 'assistant', content: reply.content };
    const usage =
      'tool' in reply
        ? { promptTokens: 100, completionTokens: 50 }
        : { promptTokens: reply.promptTokens ?? 100, completionTokens: reply.completionTokens ?? 50 };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: `chatcmpl-${requests.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: rec.model,
        choices: [
          {
            index: 0,
            finish_reason: 'tool' in reply ? 'tool_calls' : 'truncated' in reply && reply.truncated ? 'length' : 'stop',
            message,
          },
        ],
        ...('noUsage' in reply && reply.noUsage
          ? {}
          : {
              usage: {
                prompt_tokens: usage.promptTokens,
                completion_tokens: usage.completionTokens,
                total_tokens: usage.promptTokens + usage.completionTokens,
              },
            }),
      }),
    );
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  function requestsFor(name: string) {
    return requests.filter((r) => r.schemaName === name);
  }

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue(name, reply) {
      queues.set(name, [...(queues.get(name) ?? []), reply]);
    },
    respond(name, fn) {
      responders.set(name, fn);
    },
    waitFor(name, count = 1) {
      const have = requestsFor(name);
      if (have.length >= count) return Promise.resolve(have[count - 1]!);
      return new Promise((resolve) => waiters.push({ name, count, resolve }));
    },
    requestsFor,
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
