// One poller for every event stream: each tick reads the states and the new events of all runs that
// have listeners in two queries, whatever the number of clients, and hands each listener what it has
// not seen. A listener whose socket is full is skipped (backpressure) and catches up once it drains.
import { eventsAfterMany, runStates, type RunEvent } from '../db/events';
import type { Queryable } from '../db/types';
import type { Logger } from '../logger';
import { isFinished, type RunStatus, type RunUntil } from '../workflows/definitions';

export interface StreamListener {
  /** Last event id this listener has; the hub sends only newer ones. */
  after: number;
  /** False while the client's socket is full: nothing is sent until it drains. */
  ready(): boolean;
  send(events: RunEvent[]): void;
  /** The run is finished and every event was sent. */
  finished(): void;
}

export interface EventHub {
  subscribe(runId: string, listener: StreamListener): () => void;
  /** Listeners in all. */
  size(): number;
  close(): void;
}

const BATCH = 2000;

export function createEventHub(db: Queryable, opts: { pollMs: number; logger?: Logger }): EventHub {
  const byRun = new Map<string, Set<StreamListener>>();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let closed = false;

  const schedule = (ms: number) => {
    if (closed || timer || byRun.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void tick();
    }, ms);
  };

  async function tick(): Promise<void> {
    if (ticking) return;
    ticking = true;
    let full = false;
    try {
      const runIds = [...byRun.keys()];
      // States first: a run seen finished here has all its events written already.
      const states = new Map((await runStates(db, runIds)).map((s) => [s.id, s]));
      const cursors = runIds
        .map((runId) => ({
          runId,
          after: Math.min(
            ...[...byRun.get(runId)!].filter((l) => l.ready()).map((l) => l.after),
            Number.MAX_SAFE_INTEGER,
          ),
        }))
        .filter((c) => c.after !== Number.MAX_SAFE_INTEGER);
      const events = await eventsAfterMany(db, cursors, BATCH);
      full = events.length === BATCH;
      const perRun = new Map<string, RunEvent[]>();
      for (const e of events) {
        const list = perRun.get(e.run_id);
        if (list) list.push(e);
        else perRun.set(e.run_id, [e]);
      }
      for (const [runId, listeners] of byRun) {
        const fresh = perRun.get(runId) ?? [];
        for (const l of [...listeners]) {
          if (!l.ready()) continue;
          const mine = fresh.filter((e) => Number(e.id) > l.after);
          if (mine.length > 0) {
            l.after = Number(mine[mine.length - 1]!.id);
            l.send(mine);
          }
          const state = states.get(runId);
          const done = !state || isFinished(state.status as RunStatus, state.until as RunUntil);
          if (done && !full && l.ready()) l.finished();
        }
      }
    } catch (err) {
      opts.logger?.warn({ err }, 'event stream poll failed; retrying');
    } finally {
      ticking = false;
      schedule(full ? 0 : opts.pollMs);
    }
  }

  return {
    subscribe(runId, listener) {
      let set = byRun.get(runId);
      if (!set) byRun.set(runId, (set = new Set()));
      set.add(listener);
      schedule(0);
      return () => {
        set.delete(listener);
        if (set.size === 0 && byRun.get(runId) === set) byRun.delete(runId);
      };
    },
    size: () => [...byRun.values()].reduce((n, s) => n + s.size, 0),
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
