// One poller for every event stream: each tick reads the states and the new events of all runs that
// have listeners in two queries, whatever the number of clients, and hands each listener what it has
// not seen. A listener whose socket is full is skipped (backpressure) and catches up once it drains.
// Events go out in commit order and only once settled (domain/stream.ts): a client sees each one once, in
// order, whichever API replica serves it and however often it reconnects.
import { campaignEventsAfterMany, campaignStatuses } from '../db/campaigns';
import { eventsAfterMany, ownerStatusEventsAfter, runStates } from '../db/events';
import type { Queryable } from '../db/types';
import { comparePositions, earliest, type StreamPosition } from '../domain/stream';
import type { Logger } from '../logger';
import { CAMPAIGN_FINAL, type CampaignStatus } from '../domain/campaign-input';
import { isFinished, type RunStatus, type RunUntil } from '../domain/run-input';

/**
 * An event as every stream sends it: its id, its stream (a run's or a campaign's id), type and data, the
 * transaction that wrote it, and whether every older transaction has ended (only then is it sent).
 */
export interface StreamEvent {
  id: string;
  stream: string;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
  tx: string;
  settled: boolean;
}

const positionOf = (e: StreamEvent): StreamPosition => ({ tx: e.tx, id: Number(e.id) });

/** Where a hub reads from: which streams are finished, and new events after each stream's position. */
export interface StreamSource {
  finished(ids: string[]): Promise<Set<string>>;
  eventsAfter(cursors: Array<{ id: string; after: StreamPosition }>, limit: number): Promise<StreamEvent[]>;
}

export const runStreamSource = (db: Queryable): StreamSource => ({
  async finished(ids) {
    const states = new Map((await runStates(db, ids)).map((s) => [s.id, s]));
    return new Set(
      ids.filter((id) => {
        const s = states.get(id);
        return !s || isFinished(s.status as RunStatus, s.until as RunUntil);
      }),
    );
  },
  async eventsAfter(cursors, limit) {
    const rows = await eventsAfterMany(
      db,
      cursors.map((c) => ({ runId: c.id, after: c.after })),
      limit,
    );
    return rows.map((e) => ({ ...e, stream: e.run_id }));
  },
});

export const campaignStreamSource = (db: Queryable): StreamSource => ({
  async finished(ids) {
    const states = new Map((await campaignStatuses(db, ids)).map((s) => [s.id, s.status]));
    return new Set(ids.filter((id) => !states.has(id) || CAMPAIGN_FINAL.includes(states.get(id) as CampaignStatus)));
  },
  eventsAfter: (cursors, limit) => campaignEventsAfterMany(db, cursors, limit),
});

/** Every status change of one owner's runs (`*`: every owner's); such a stream never finishes. */
export const ownerStreamSource = (db: Queryable): StreamSource => ({
  finished: async () => new Set(),
  async eventsAfter(cursors, limit) {
    const rows = await ownerStatusEventsAfter(
      db,
      cursors.map((c) => ({ owner: c.id, after: c.after })),
      limit,
    );
    return rows.map((e) => ({ ...e, data: { ...e.data, runId: e.run_id, owner: e.owner } }));
  },
});

export interface StreamListener {
  /** Position of the last event this listener has; the hub sends only later ones. */
  after: StreamPosition;
  /** False while the client's socket is full: nothing is sent until it drains. */
  ready(): boolean;
  send(events: StreamEvent[]): void;
  /** The stream's subject is finished and every event was sent. */
  finished(): void;
}

export interface EventHub {
  subscribe(id: string, listener: StreamListener): () => void;
  /** Listeners in all. */
  size(): number;
  close(): void;
}

const BATCH = 2000;

export function createEventHub(source: StreamSource, opts: { pollMs: number; logger?: Logger }): EventHub {
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
      const ids = [...byRun.keys()];
      // States first: a stream seen finished here has all its events written already.
      const finished = await source.finished(ids);
      const cursors = ids.flatMap((id) => {
        const after = earliest([...byRun.get(id)!].filter((l) => l.ready()).map((l) => l.after));
        return after ? [{ id, after }] : [];
      });
      const events = await source.eventsAfter(cursors, BATCH);
      full = events.length === BATCH;
      const perRun = new Map<string, StreamEvent[]>();
      // A stream with an unsettled event is not finished: that event, and any behind it, are still to come.
      const unsettled = new Set<string>();
      for (const e of events) {
        if (!e.settled) {
          unsettled.add(e.stream);
          continue;
        }
        const list = perRun.get(e.stream);
        if (list) list.push(e);
        else perRun.set(e.stream, [e]);
      }
      for (const [runId, listeners] of byRun) {
        const fresh = perRun.get(runId) ?? [];
        for (const l of [...listeners]) {
          if (!l.ready()) continue;
          const mine = fresh.filter((e) => comparePositions(positionOf(e), l.after) > 0);
          if (mine.length > 0) {
            l.after = positionOf(mine[mine.length - 1]!);
            l.send(mine);
          }
          if (finished.has(runId) && !full && !unsettled.has(runId) && l.ready()) l.finished();
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
