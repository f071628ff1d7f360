// Event streams: one shared poller whatever the number of clients, close handling that never leaks a
// listener, caps per user and in all, and backpressure.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { QueryResultRow } from 'pg';
import { appendEvent } from '../../src/db/events';
import { createEventHub, runStreamSource } from '../../src/api/event-hub';
import { STREAM_START } from '../../src/domain/stream';
import type { Queryable } from '../../src/db/types';
import { startFakeModel, type FakeModel } from '../support/fake-model';
import { AUTH, createHarness, type Harness } from '../support/harness';
import { createRun, submitPaper } from '../support/api';

let model: FakeModel;
let h: Harness;
let base: string;
let runId: string;

beforeAll(async () => {
  model = await startFakeModel();
  h = await createHarness({
    OPENAI_BASE_URL: model.baseUrl,
    MLR_SSE_MAX_PER_USER: '3',
    MLR_SSE_MAX_TOTAL: '5',
    MLR_API_TOKENS: 'test-token-0123456789,eve=tok-eve-0123456789',
  });
  await h.startWorker();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  const paperId = await submitPaper(h.app);
  runId = (await createRun(h.app, { paperId, ideaCount: 1 })).id;
});
afterAll(async () => {
  await h.close();
  await model.close();
});

/** Opens a stream and resolves once its headers arrive; the request can be destroyed to disconnect. */
function open(
  token = 'test-token-0123456789',
  id = runId,
): Promise<{ status: number; req: http.ClientRequest; res: http.IncomingMessage; body: () => string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/v1/runs/${id}/events`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let data = '';
      res.on('data', (d) => {
        data += d;
      });
      res.on('error', () => undefined);
      resolve({ status: res.statusCode!, req, res, body: () => data });
    });
    req.on('error', (err) => {
      if (!req.destroyed) reject(err);
    });
  });
}

/** Opens a stream once the slots of streams closed a moment ago are free again. */
async function openOk(): Promise<Awaited<ReturnType<typeof open>>> {
  for (let i = 0; i < 80; i++) {
    const s = await open();
    if (s.status === 200) return s;
    s.req.destroy();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no stream slot came free');
}

const settle = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`never: ${what}`);
};

describe('event streams', () => {
  it('caps streams per user and in all with 429, and frees a slot when a client disconnects', async () => {
    const mine = await Promise.all([open(), open(), open()]);
    expect(mine.map((s) => s.status)).toEqual([200, 200, 200]);
    const fourth = await open();
    expect(fourth.status).toBe(429);
    const eves = await Promise.all([open('tok-eve-0123456789'), open('tok-eve-0123456789')]);
    expect(eves.map((s) => s.status)).toEqual([404, 404]); // Eve cannot see this run: no stream, no slot used
    mine[0]!.req.destroy();
    const again = await openOk();
    expect(again.status).toBe(200);
    for (const s of [...mine, again]) s.req.destroy();
  });

  it('delivers the run events to each client and resumes after Last-Event-ID', async () => {
    const a = await openOk();
    await settle(() => a.body().includes('event: created'), 'the created event');
    const ids = [...a.body().matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    a.req.destroy();
    const resumed = await new Promise<string>((resolve) => {
      const req = http.get(
        `${base}/v1/runs/${runId}/events`,
        { headers: { ...AUTH, 'last-event-id': String(ids[0]) } },
        (res) => {
          let data = '';
          res.on('data', (d) => {
            data += d;
            if (data.includes('\n\n')) {
              req.destroy();
              resolve(data);
            }
          });
        },
      );
    });
    expect(resumed).not.toMatch(new RegExp(`^id: ${ids[0]}$`, 'm'));
  });
});

describe("the stream of every run's status", () => {
  it("sends the caller's status changes from now on, never another user's, and resumes after Last-Event-ID", async () => {
    const evePaper = await h.app.inject({
      method: 'POST',
      url: '/v1/papers',
      headers: { authorization: 'Bearer tok-eve-0123456789' },
      payload: { content: '# Eve\n\n## Abstract\n\nEve writes a paper about nothing at all.', format: 'markdown' },
    });
    const eveRun = await h.app.inject({
      method: 'POST',
      url: '/v1/runs',
      headers: { authorization: 'Bearer tok-eve-0123456789' },
      payload: { paperId: evePaper.json().id, ideaCount: 1 },
    });
    const ctrl = new AbortController();
    const res = await fetch(`${base}/v1/events`, { headers: AUTH, signal: ctrl.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    let text = '';
    const reading = (async () => {
      const decoder = new TextDecoder();
      const reader = res.body!.getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read())
        text += decoder.decode(r.value, { stream: true });
    })().catch(() => undefined);
    // Older history is not replayed: only what happens after the stream opened.
    const before = (await h.pool.query("SELECT count(*)::int AS n FROM run_events WHERE type = 'status'")).rows[0].n;
    await appendEvent(h.pool, eveRun.json().id, 'status', { status: 'analyzing' });
    await appendEvent(h.pool, runId, 'status', { status: 'analyzing' });
    await appendEvent(h.pool, runId, 'feedback_received', { chars: 1 });
    await settle(() => text.includes(runId), 'my status change');
    ctrl.abort();
    await reading;
    expect(before).toBeGreaterThan(0);
    const events = text
      .split('\n\n')
      .filter((b) => b.includes('data: '))
      .map((b) => ({
        id: /id: (\d+)/.exec(b)![1]!,
        type: /event: (\S+)/.exec(b)![1],
        data: JSON.parse(/data: (.*)/.exec(b)![1]!),
      }));
    // The harness's worker may add real status changes of this user's runs; never eve's, never other types.
    expect(events.map((e) => [e.type, e.data.runId, e.data.status])).toContainEqual(['status', runId, 'analyzing']);
    expect(events.every((e) => e.type === 'status' && e.data.runId !== eveRun.json().id)).toBe(true);
    expect(text).not.toContain(eveRun.json().id);

    // Reconnecting with the last id seen gets what happened in between, and only that.
    await appendEvent(h.pool, runId, 'status', { status: 'cancelled' });
    const again = await fetch(`${base}/v1/events`, {
      headers: { ...AUTH, 'last-event-id': events[0]!.id },
      signal: AbortSignal.timeout(5000),
    });
    const reader = again.body!.getReader();
    let more = '';
    while (!more.includes('cancelled')) more += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const ids = [...more.matchAll(/id: (\d+)/g)].map((m) => Number(m[1]));
    expect(ids.length).toBeGreaterThan(0);
    expect(Math.min(...ids)).toBeGreaterThan(Number(events[events.length - 1]!.id) - 1);
    expect(Math.min(...ids)).toBeGreaterThan(Number(events[0]!.id));
    expect((await fetch(`${base}/v1/events`)).status).toBe(401);
  });
});

describe('the shared poller', () => {
  it('asks Postgres twice per tick however many listen, and forgets a listener that leaves', async () => {
    // Counted by kind: one states query and one events query make a tick.
    const count = { states: 0, events: 0 };
    const counting: Queryable = {
      query: <R extends QueryResultRow>(text: string, params?: unknown[]) => {
        if (text.includes('unnest(')) count.events++;
        else if (text.includes('FROM runs WHERE id = ANY')) count.states++;
        return h.pool.query<R>(text, params);
      },
    };
    const hub = createEventHub(runStreamSource(counting), { pollMs: 20 });
    const got: number[] = [];
    const unsubscribers = Array.from({ length: 50 }, (_, i) =>
      hub.subscribe(runId, {
        after: STREAM_START,
        ready: () => true,
        send: (events) => {
          if (i === 0) got.push(...events.map((e) => Number(e.id)));
        },
        finished: () => undefined,
      }),
    );
    await settle(() => got.length > 0, 'the first delivery');
    const before = { ...count };
    await new Promise((r) => setTimeout(r, 200));
    const ticks = count.states - before.states;
    expect(ticks).toBeGreaterThan(0);
    expect(ticks).toBeLessThanOrEqual(12); // 200 ms at 20 ms a tick, for 50 listeners: not 50 queries a tick
    expect(Math.abs(count.events - before.events - ticks)).toBeLessThanOrEqual(1);
    expect(hub.size()).toBe(50);
    for (const u of unsubscribers) u();
    expect(hub.size()).toBe(0);
    await new Promise((r) => setTimeout(r, 60)); // a tick already under way finishes
    const idle = count.states + count.events;
    await new Promise((r) => setTimeout(r, 100));
    expect(count.states + count.events).toBe(idle); // no listener, no polling
    hub.close();
  });

  it('skips a listener whose socket is full and catches it up once it drains', async () => {
    const hub = createEventHub(runStreamSource(h.pool), { pollMs: 20 });
    let ready = false;
    const got: number[] = [];
    hub.subscribe(runId, {
      after: STREAM_START,
      ready: () => ready,
      send: (events) => got.push(...events.map((e) => Number(e.id))),
      finished: () => undefined,
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual([]);
    await appendEvent(h.pool, runId, 'feedback_received', { chars: 1 });
    ready = true;
    await settle(() => got.length > 0, 'catching up');
    const { rows } = await h.pool.query('SELECT id FROM run_events WHERE run_id = $1 ORDER BY id', [runId]);
    await settle(() => got.length === rows.length, 'every event');
    expect(got).toEqual(rows.map((r) => Number(r.id)));
    hub.close();
  });

  it('sends events in commit order: an id that commits late is sent before the later ids, never skipped', async () => {
    let ticks = 0;
    const counting: Queryable = {
      query: <R extends QueryResultRow>(text: string, params?: unknown[]) => {
        if (text.includes('unnest(')) ticks++;
        return h.pool.query<R>(text, params);
      },
    };
    const hub = createEventHub(runStreamSource(counting), { pollMs: 20 });
    const got: number[] = [];
    hub.subscribe(runId, {
      after: STREAM_START,
      ready: () => true,
      send: (events) => got.push(...events.map((e) => Number(e.id))),
      finished: () => undefined,
    });
    // A transaction takes the next id and stays open; a later id commits meanwhile.
    const slow = await h.pool.connect();
    try {
      await slow.query('BEGIN');
      await appendEvent(slow, runId, 'feedback_received', { chars: 1 });
      const early = Number((await slow.query('SELECT max(id) AS id FROM run_events')).rows[0].id);
      await appendEvent(h.pool, runId, 'feedback_received', { chars: 2 });
      const { rows } = await h.pool.query('SELECT max(id) AS id FROM run_events WHERE run_id = $1', [runId]);
      const late = Number(rows[0].id);
      expect(late).toBeGreaterThan(early);
      const seen = ticks;
      await settle(() => ticks >= seen + 3, 'three polls');
      // Not sent while the earlier id may still commit: sending it would move the stream past that id.
      expect(got).not.toContain(late);
      await slow.query('COMMIT');
      await settle(() => got.includes(late), 'the later event');
      expect(got.indexOf(early)).toBeGreaterThanOrEqual(0);
      expect(got.indexOf(early)).toBeLessThan(got.indexOf(late));
      expect(new Set(got).size).toBe(got.length);
    } finally {
      slow.release();
      hub.close();
    }
  });

  it('ends the stream of a finished run once every event was sent', async () => {
    const hub = createEventHub(runStreamSource(h.pool), { pollMs: 20 });
    await h.app.inject({ method: 'POST', url: `/v1/runs/${runId}/cancel`, headers: AUTH });
    let finished = false;
    const got: string[] = [];
    hub.subscribe(runId, {
      after: STREAM_START,
      ready: () => true,
      send: (events) => got.push(...events.map((e) => e.type)),
      finished: () => {
        finished = true;
      },
    });
    await settle(() => finished, 'the end of the stream');
    expect(got).toContain('created');
    expect(got[got.length - 1]).toBe('status');
    hub.close();
  });
});
