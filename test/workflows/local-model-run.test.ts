// The agents on a real local model server, as research groups run them: llama-cpp-python's server with a small
// base model (Gemma 3 270M, not instruction-tuned). It refuses json_schema, so the service must detect what it
// takes; its answers are weak, so validation and re-asks must hold. Paper → ideas → approval either reaches
// approval or fails with a clear, recorded reason: never a crash, never a hang. What it produced is printed for
// the record (the closing note's figures come from here).
import { listModelEndpoints } from '../../src/db/model-endpoints';
import { startFakeScholar, type FakeScholar } from '../support/fake-scholar';
import { createHarness, type Harness } from '../support/harness';
import { createRun, decide, getRun, submitPaper } from '../support/api';
import { startLocalModelServer, type LocalModelServer } from '../support/local-model';

jest.setTimeout(20 * 60_000);

let server: LocalModelServer;
let scholar: FakeScholar;
let h: Harness;

beforeAll(async () => {
  [server, scholar] = await Promise.all([startLocalModelServer(), startFakeScholar()]);
  h = await createHarness({
    OPENAI_BASE_URL: server.baseUrl,
    SEMANTIC_SCHOLAR_BASE_URL: scholar.baseUrl,
    MLR_MODEL: server.model,
    // A reply of 400 tokens takes about 45 s on 2 cores: enough for one idea, and a bound on the wait.
    MLR_MODEL_RESERVE_TOKENS: '400',
    MLR_LLM_REASK: '1',
    MLR_LLM_TIMEOUT_MS: '300000',
  });
  await h.startWorker();
});

afterAll(async () => {
  await h?.close();
  await Promise.all([server?.close(), scholar?.close()]);
});

const SETTLED = ['awaiting_approval', 'approved', 'failed', 'rejected', 'cancelled', 'succeeded'];

async function settle(id: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await getRun(h.app, id);
    if (SETTLED.includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run still ${run.status} after ${timeoutMs} ms:\n${server.log()}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('a research run on a real llama.cpp server with a small base model', () => {
  it('detects json_object, and reaches approval or fails with a recorded reason', async () => {
    const paperId = await submitPaper(h.app);
    const run = await createRun(h.app, { paperId, ideaCount: 1 });
    let state = await settle(run.id, 15 * 60_000);
    if (state.status === 'awaiting_approval') {
      expect(state.ideas.length).toBeGreaterThan(0);
      const res = await decide(h.app, run.id, { decision: 'approve', ideaId: state.ideas[0].id });
      expect(res.statusCode).toBe(200);
      state = await getRun(h.app, run.id);
      expect(state.status).toBe('approved');
    } else {
      expect(state.status).toBe('failed');
      // A clear reason: the error names what went wrong, with its catalogued type.
      expect(state.error).toMatch(/model|schema|JSON|invalid|context/i);
      const type = await h.pool.query('SELECT error_type FROM runs WHERE id = $1', [run.id]);
      expect(type.rows[0].error_type).toMatch(/^Llm/);
    }
    const [endpoint] = await listModelEndpoints(h.pool);
    expect(endpoint).toMatchObject({ endpoint: server.baseUrl, model: server.model, mode: 'json_object' });
    expect(endpoint!.probes[0]).toMatchObject({ mode: 'json_schema', outcome: 'refused', status: 500 });
    const calls = await h.pool.query<{ role: string; status: string; mode: string; error: string | null }>(
      `SELECT role, status, mode, error, completion_tokens, latency_ms, left(completion, 300) AS completion
         FROM llm_calls WHERE run_id = $1 ORDER BY created_at`,
      [run.id],
    );
    expect(calls.rows.length).toBeGreaterThan(0);
    expect(new Set(calls.rows.map((c) => c.mode))).toEqual(new Set(['json_object']));
    console.log(
      JSON.stringify({ status: state.status, error: state.error ?? null, endpoint, calls: calls.rows }, null, 2),
    );
  });
});
