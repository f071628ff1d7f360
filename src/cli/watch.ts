// `--watch`: a run's stages as they happen (a spinner on the current one, a tick on each one passed) and,
// under them, the agent's steps, its executions and the validation, read from the run's event stream.
// With --json, each event is one line of JSON instead. Progress goes to stderr; the outcome to stdout.
import type { Ora } from 'ora';
import { isFinished, type RunStatus, type RunUntil } from '../domain/run-input';
import type { ApiClient, StreamEvent } from './client';
import { terminalText } from './terminal';

export interface RunView {
  id: string;
  status: RunStatus;
  until: RunUntil;
  round: number;
  error: string | null;
  ideas: Array<{
    id: string;
    rank: number | null;
    round: number;
    title: string;
    review: { score: number | null } | null;
  }>;
  result: { metric: string; baseline: number; value: number; improvement: number } | null;
  validation: { verdict?: string } | null;
}

const STAGES: Partial<Record<RunStatus, string>> = {
  queued: 'Queued',
  analyzing: 'Analysing the paper',
  retrieving: 'Finding related work',
  ideating: 'Generating and reviewing ideas',
  awaiting_approval: 'Waiting for a decision on the ideas',
  awaiting_budget: 'Waiting for a budget top-up',
  awaiting_slot: "Waiting for a place in the campaign's window",
  approved: 'Idea approved',
  implementing: 'The agent is implementing the idea',
  executing: 'Running the experiment',
  debugging: 'The agent is debugging a failed execution',
  validating: 'Validating baseline and candidate over seeds',
};

function detail(e: StreamEvent): string | undefined {
  const d = e.data;
  switch (e.type) {
    case 'agent_step':
      return `step ${String(d.step)} · ${String(d.tool)}`;
    case 'experiment':
      return `${String(d.role)} execution${d.attempt !== undefined ? ` #${String(d.attempt)}` : ''}: ${String(d.status)}${
        d.error ? ` (${String(d.error).slice(0, 120)})` : ''
      }`;
    case 'job':
      return `Kubernetes job ${String(d.phase ?? d.status ?? '')}`.trim();
    case 'debug':
      return `execution failed; its error goes to the agent after step ${String(d.afterStep)}`;
    case 'feedback':
      return `your feedback reaches the agent after step ${String(d.afterStep)}`;
    case 'validation':
      return `verdict: ${String(d.verdict)} (p = ${typeof d.pValue === 'number' ? d.pValue.toPrecision(3) : '?'})`;
    case 'paused':
      return 'paused';
    case 'resumed':
      return 'resumed';
    case 'budget':
      return `budget: ${JSON.stringify(d).slice(0, 160)}`;
    default:
      return undefined;
  }
}

export interface WatchOptions {
  json: boolean;
  stderr?: NodeJS.WritableStream;
  stdout?: NodeJS.WritableStream;
}

/** Follows the run until its stream ends (finished, or at its stopping point); resolves with its final view. */
export async function watchRun(client: ApiClient, runId: string, opts: WatchOptions): Promise<RunView> {
  const stderr = opts.stderr ?? process.stderr;
  const stdout = opts.stdout ?? process.stdout;
  let spinner: Ora | undefined;
  let stage: string | undefined;
  if (!opts.json) {
    const { default: ora } = await import('ora');
    spinner = ora({ stream: stderr, discardStdin: false });
  }
  const note = (raw: string) => {
    if (!spinner) return;
    const line = terminalText(raw); // titles the model wrote
    if (spinner.isSpinning && spinner.isEnabled) {
      spinner.clear();
      stderr.write(`    ${line}\n`);
      spinner.render();
    } else stderr.write(`    ${line}\n`);
  };
  const enter = async (status: RunStatus) => {
    if (!spinner) return;
    const label = STAGES[status];
    if (!label || label === stage) return;
    if (stage) spinner.succeed(stage);
    stage = label;
    spinner.start(label);
    if (status === 'awaiting_approval') {
      const run = await client.get<RunView>(`/v1/runs/${runId}`);
      for (const i of run.ideas.filter((x) => x.round === run.round)) {
        note(`#${i.rank ?? '?'} ${i.title}${i.review?.score ? ` (review ${i.review.score})` : ''}  [${i.id}]`);
      }
      note(`decide with: mlr approve ${runId} [IDEA] · mlr revise ${runId} "feedback" · mlr reject ${runId}`);
    }
  };

  await client.follow(`/v1/runs/${runId}/events`, async (e) => {
    if (opts.json) {
      stdout.write(`${JSON.stringify({ id: e.id, type: e.type, data: e.data })}\n`);
      return;
    }
    if (e.type === 'status') await enter(e.data.status as RunStatus);
    else {
      const line = detail(e);
      if (line) note(line);
    }
  });

  const run = await client.get<RunView>(`/v1/runs/${runId}`);
  if (spinner) {
    const reached = isFinished(run.status, run.until);
    if (run.status === 'succeeded' || (reached && !['failed', 'cancelled', 'rejected'].includes(run.status))) {
      spinner.succeed(stage ?? run.status);
    } else spinner.fail(`${stage ?? 'Run'}: ${run.status}${run.error ? ` (${run.error})` : ''}`);
  }
  return run;
}
