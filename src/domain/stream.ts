// Where a reader of an append-only event table stands. Ids come from a sequence and commit out of order, so a
// reader's place is the writing transaction and then the id: rows are read only once every transaction
// older than them has ended (db/events.ts), and nothing can then appear behind a position already passed.

export interface StreamPosition {
  /** The transaction that wrote the row (a 64-bit xid8, as text). */
  tx: string;
  id: number;
}

/** Before every row. */
export const STREAM_START: StreamPosition = { tx: '0', id: 0 };

/** Negative, zero or positive as `a` comes before, at or after `b`. */
export function comparePositions(a: StreamPosition, b: StreamPosition): number {
  const ta = BigInt(a.tx);
  const tb = BigInt(b.tx);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.id - b.id;
}

/** The earliest of some positions, or undefined when there are none. */
export function earliest(positions: StreamPosition[]): StreamPosition | undefined {
  return positions.reduce<StreamPosition | undefined>(
    (min, p) => (min === undefined || comparePositions(p, min) < 0 ? p : min),
    undefined,
  );
}
