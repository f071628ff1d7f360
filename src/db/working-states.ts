import type { StateManifest } from '../domain/working-state';
import type { Queryable } from './types';

export interface WorkingStateRow extends StateManifest {
  stateHash: string;
  /** The step that left it. */
  step: number;
}

export async function insertWorkingState(
  db: Queryable,
  runId: string,
  stateHash: string,
  m: StateManifest,
): Promise<void> {
  await db.query(
    'INSERT INTO working_states (run_id, state_hash, files, backups) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
    [runId, stateHash, JSON.stringify(m.files), JSON.stringify(m.backups)],
  );
}

/** The state the newest committed step left: what the run's working copy is. None: the starter's. */
export async function headWorkingState(db: Queryable, runId: string): Promise<WorkingStateRow | undefined> {
  const { rows } = await db.query<
    { state_hash: string; step: number; files: StateManifest['files'] } & {
      backups: StateManifest['backups'];
    }
  >(
    `SELECT w.state_hash, s.step, w.files, w.backups FROM agent_steps s
     JOIN working_states w ON w.run_id = s.run_id AND w.state_hash = s.state_hash
     WHERE s.run_id = $1 AND s.state_hash IS NOT NULL ORDER BY s.step DESC LIMIT 1`,
    [runId],
  );
  const r = rows[0];
  return r && { stateHash: r.state_hash, step: r.step, files: r.files, backups: r.backups };
}

/**
 * Whether the run has steps that finished without a committed state: steps an earlier version recorded
 * (before working copies were committed), or only steps refused before they could act.
 */
export async function hasStepsWithoutState(db: Queryable, runId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'SELECT 1 FROM agent_steps WHERE run_id = $1 AND observation IS NOT NULL AND state_hash IS NULL LIMIT 1',
    [runId],
  );
  return Boolean(rowCount);
}
