import type { Queryable } from './types';

export interface SnapshotRow {
  run_id: string;
  code_hash: string;
  /** File path → sha256 of its content (the blob key in the artifact store). */
  manifest: Record<string, string>;
  diff: string;
  created_at: Date;
}

export async function snapshotExists(db: Queryable, runId: string, codeHash: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM snapshots WHERE run_id = $1 AND code_hash = $2', [
    runId,
    codeHash,
  ]);
  return Boolean(rowCount);
}

export async function getSnapshot(db: Queryable, runId: string, codeHash: string): Promise<SnapshotRow | undefined> {
  const { rows } = await db.query<SnapshotRow>('SELECT * FROM snapshots WHERE run_id = $1 AND code_hash = $2', [
    runId,
    codeHash,
  ]);
  return rows[0];
}

/** The manifest of the run's starter snapshot, the base every diff is taken against. */
export async function starterManifest(db: Queryable, runId: string): Promise<Record<string, string> | undefined> {
  const { rows } = await db.query<{ manifest: Record<string, string> }>(
    'SELECT s.manifest FROM snapshots s JOIN runs r ON r.id = s.run_id AND r.starter_hash = s.code_hash WHERE s.run_id = $1',
    [runId],
  );
  return rows[0]?.manifest;
}

export async function latestSnapshot(db: Queryable, runId: string): Promise<SnapshotRow | undefined> {
  const { rows } = await db.query<SnapshotRow>(
    'SELECT * FROM snapshots WHERE run_id = $1 ORDER BY created_at DESC LIMIT 1',
    [runId],
  );
  return rows[0];
}

/** The snapshot an execution measured. */
export async function snapshotOfExperiment(db: Queryable, experimentId: string): Promise<SnapshotRow | undefined> {
  const { rows } = await db.query<SnapshotRow>(
    'SELECT s.* FROM snapshots s JOIN experiments e ON e.code_hash = s.code_hash AND e.run_id = s.run_id WHERE e.id = $1',
    [experimentId],
  );
  return rows[0];
}

export async function insertSnapshot(
  db: Queryable,
  s: { runId: string; codeHash: string; manifest: Record<string, string>; diff: string },
): Promise<void> {
  await db.query(
    'INSERT INTO snapshots (run_id, code_hash, manifest, diff) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
    [s.runId, s.codeHash, JSON.stringify(s.manifest), s.diff],
  );
}
