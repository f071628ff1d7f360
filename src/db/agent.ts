import { pgJson, pgText, type Queryable } from './types';

export interface AgentStepRow {
  run_id: string;
  step: number;
  tool: string;
  args: Record<string, unknown>;
  tool_call_id: string;
  observation: string | null;
  error: string | null;
  /** The model's own text that came with the call (capped), shown back by profiles that keep it. */
  thought: string | null;
  created_at: Date;
}

export interface AgentNoteRow {
  id: string;
  after_step: number;
  kind: 'feedback' | 'execution_error';
  text: string;
}

export async function getStep(db: Queryable, runId: string, step: number): Promise<AgentStepRow | undefined> {
  const { rows } = await db.query<AgentStepRow>('SELECT * FROM agent_steps WHERE run_id = $1 AND step = $2', [
    runId,
    step,
  ]);
  return rows[0];
}

export async function stepsForRun(db: Queryable, runId: string): Promise<AgentStepRow[]> {
  const { rows } = await db.query<AgentStepRow>('SELECT * FROM agent_steps WHERE run_id = $1 ORDER BY step', [runId]);
  return rows;
}

/**
 * The script the agent named to measure its candidate: the entry point of its accepted final answer, if any
 * (a final answer refused for its arguments carries an error and names nothing).
 */
export async function finalEntryPoint(db: Queryable, runId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ entry: string | null }>(
    `SELECT args->>'entry_point' AS entry FROM agent_steps
     WHERE run_id = $1 AND tool = 'final_answer' AND error IS NULL ORDER BY step DESC LIMIT 1`,
    [runId],
  );
  return rows[0]?.entry ?? undefined;
}

/** Inserts the step once; a retried activity keeps the first answer. */
export async function insertStep(
  db: Queryable,
  s: {
    runId: string;
    step: number;
    tool: string;
    args: object;
    toolCallId: string;
    observation?: string;
    error?: string;
    thought?: string;
  },
): Promise<AgentStepRow> {
  await db.query(
    `INSERT INTO agent_steps (run_id, step, tool, args, tool_call_id, observation, error, thought)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (run_id, step) DO NOTHING`,
    [
      s.runId,
      s.step,
      s.tool,
      pgJson(s.args),
      s.toolCallId,
      pgText(s.observation ?? null),
      pgText(s.error ?? null),
      pgText(s.thought ?? null),
    ],
  );
  return (await getStep(db, s.runId, s.step))!;
}

/**
 * Records a step's outcome: its observation, and the working copy's state and code hash it left. Only the
 * first attempt to finish the step does: false for a later one (a stalled attempt that lost its activity),
 * whose work is then void.
 */
export async function finishStep(
  db: Queryable,
  runId: string,
  step: number,
  s: { observation: string; codeHash: string; stateHash: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE agent_steps SET observation = $3, code_hash = $4, state_hash = $5
     WHERE run_id = $1 AND step = $2 AND observation IS NULL`,
    [runId, step, pgText(s.observation), s.codeHash, s.stateHash],
  );
  return rowCount === 1;
}

export async function addNote(
  db: Queryable,
  runId: string,
  afterStep: number,
  kind: AgentNoteRow['kind'],
  text: string,
): Promise<void> {
  await db.query('INSERT INTO agent_notes (run_id, after_step, kind, text) VALUES ($1, $2, $3, $4)', [
    runId,
    afterStep,
    kind,
    text,
  ]);
}

export async function notesForRun(db: Queryable, runId: string): Promise<AgentNoteRow[]> {
  const { rows } = await db.query<AgentNoteRow>(
    'SELECT id, after_step, kind, text FROM agent_notes WHERE run_id = $1 ORDER BY id',
    [runId],
  );
  return rows;
}

export interface StepView extends AgentStepRow {
  experiment_id: string | null;
  experiment_status: string | null;
}

/** A page of the agent's trajectory, each step with the execution it ran (execute_script), if any. */
export async function stepsPage(db: Queryable, runId: string, afterStep: number, limit: number): Promise<StepView[]> {
  const { rows } = await db.query<StepView>(
    `SELECT s.*, e.id AS experiment_id, e.status AS experiment_status FROM agent_steps s
     LEFT JOIN experiments e ON e.exec_key = s.run_id::text || ':agent:' || s.step
     WHERE s.run_id = $1 AND s.step > $2 ORDER BY s.step LIMIT $3`,
    [runId, afterStep, limit],
  );
  return rows;
}
