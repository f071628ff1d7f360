// The agent loop's two kinds of activity: one model step (which tool to call) and one action (calling
// it). Steps and observations are stored per (run, step), so a crash loses at most the step in flight
// and a retried activity never pays twice.
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { modelFor } from '../config';
import { addNote, finishStep, getStep, insertStep, notesForRun, stepsForRun, type AgentStepRow } from '../db/agent';
import { appendEvent } from '../db/events';
import { findAnsweredCall, insertLlmCall } from '../db/llm-calls';
import { ErrorType } from '../errors';
import { ActionError, type Workspace } from '../experiments/workspace';
import { TOOLS, toolArgs, type ToolName } from '../experiments/tools';
import { profileOf, type ProfileSpec } from './agent-profiles';
import type { ToolCall } from '../clients/llm';
import { agentMessages, agentTaskMessage, bound } from './agent-prompts';
import { createRunContext, selectedIdea, storeSnapshot } from './run-context';
import { withHeartbeat } from './heartbeat';
import { costUsd, createMeter } from './ledger';
import { recordFailedCall } from './model-calls';
import type { ActivityDeps } from './deps';
import { structuredCall } from './structured';
import { patchesOffLoop } from '../experiments/diff';
import { READ_ONLY_VIOLATION } from '../experiments/executor/measure';
import { HubError, type HubKind } from '../domain/hub';
import { createHubAccess } from './hub';
import { hubReposForRun } from '../db/hub-repos';

// Duck-typed, not `instanceof Error`: errors from Node's fs may come from another realm (a test's VM).
const isFsError = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && /^E[A-Z]+$/.test(String((err as NodeJS.ErrnoException).code ?? ''));

/** The error without the absolute host paths Node puts in its messages. */
const fsErrorMessage = (err: NodeJS.ErrnoException): string =>
  `${err.code}: the file operation failed (${err.syscall ?? 'fs'})`;

/** understand_file reads a file in blocks of this many characters, at most this many blocks. */
const UNDERSTAND_BLOCK_CHARS = 10_000;
const MAX_UNDERSTAND_BLOCKS = 20;

/** The model's own text kept per step, at most. */
const MAX_THOUGHT_CHARS = 4000;

export function createAgentActivities(deps: ActivityDeps) {
  const { db, config } = deps;
  const { context, live, commit, execute } = createRunContext(deps);
  const hub = deps.hub ? createHubAccess({ db, hub: deps.hub, config }) : undefined;

  /** The model's text beside its tool call, capped: what a profile that keeps thoughts shows back. */
  const thoughtOf = (content: string | null | undefined): { thought?: string } => {
    const text = (content ?? '').trim();
    return text ? { thought: text.slice(0, MAX_THOUGHT_CHARS) } : {};
  };

  /** Why a final answer's entry point cannot be measured, or undefined when it can (or names none). */
  async function entryPointProblem(runId: string, args: { entry_point?: string | null }): Promise<string | undefined> {
    const entry = args.entry_point;
    if (entry === undefined || entry === null || entry === 'train.py') return undefined;
    if (!/^[\w./-]{1,200}\.py$/.test(entry) || entry.split('/').includes('..')) {
      return `entry_point must name a Python script in the workspace (like train.py), not ${JSON.stringify(entry.slice(0, 200))}`;
    }
    const { ws } = await live(runId);
    try {
      ws.readFile(entry); // the workspace's own path and existence checks
    } catch (err) {
      if (!(err instanceof ActionError) && !isFsError(err)) throw err;
      return `entry_point ${entry} cannot be measured: it is not a file in the workspace; the final answer was not accepted`;
    }
    return undefined;
  }
  const meter = createMeter(deps);

  /**
   * The profile's long observations, among the steps it shows in full, replaced by a model's summary (one call
   * per step, recorded and reused like every model call); the full text stays in the step's record.
   */
  async function summariseLong(
    runId: string,
    steps: AgentStepRow[],
    profile: ProfileSpec,
    signal?: AbortSignal,
  ): Promise<AgentStepRow[]> {
    const limit = profile.summariseAbove!;
    const shown = new Set(steps.slice(-profile.fullSteps).map((s) => s.step));
    return Promise.all(
      steps.map(async (s) => {
        if (!shown.has(s.step) || (s.observation ?? '').length <= limit) return s;
        const { summary } = await structuredCall(deps, {
          runId,
          role: 'agent',
          callKey: `observation-summary:${s.step}`,
          name: 'observation_summary',
          schema: z.object({ summary: z.string().min(1).max(4000) }),
          signal,
          messages: [
            {
              role: 'system',
              content:
                'Summarise an observation of a research agent for its next step: keep errors, numbers the script ' +
                'printed and file names exactly; drop repetition. Answer with JSON.',
            },
            { role: 'user', content: `Action: ${s.tool} ${JSON.stringify(s.args)}\nObservation:\n${s.observation}` },
          ],
        });
        return { ...s, observation: `[Summary of a ${s.observation!.length}-character observation]\n${summary}` };
      }),
    );
  }

  /** One model call that must choose a tool; recorded like every model call, reused if already paid for. */
  async function chooseTool(
    runId: string,
    step: number,
    signal?: AbortSignal,
  ): Promise<{ call: ToolCall | undefined; thought?: string; profile: ProfileSpec }> {
    const model = modelFor(config, 'agent');
    if (!model)
      throw ApplicationFailure.nonRetryable('no model configured for role agent', ErrorType.ModelNotConfigured);
    const { run, prepared, ws } = await live(runId);
    const profile = profileOf(run.input);
    // A benchmark's run has no idea: the agent gets the research problem alone, as upstream's agents do.
    const idea = run.paper_id ? await selectedIdea(db, run) : undefined;
    const steps = await stepsForRun(db, runId);
    // The run's Hub repositories, read only when it can have any (a planned list, or a fetch among its steps):
    // the agent step is a hot path, and most runs fetch nothing.
    const mayHold = !!idea?.experimentPlan.hub?.length || steps.some((s) => s.tool === 'hub_fetch');
    const hubRepos = mayHold ? await hubReposForRun(db, runId) : [];
    const messages = agentMessages(
      profile.system(prepared.task),
      agentTaskMessage(prepared.task, idea, ws.listFiles('.'), hubRepos),
      profile.summariseAbove === null ? steps : await summariseLong(runId, steps, profile, signal),
      await notesForRun(db, runId),
      profile.fullSteps,
      profile.keepThoughts,
    );
    const tools = TOOLS.filter((t) => profile.tools.includes(t.name));
    const callKey = `agent:${step}`;
    const requestHash = createHash('sha256').update(JSON.stringify({ model, messages })).digest('hex');
    const cached = await findAnsweredCall(db, runId, callKey);
    if (cached) {
      const stored = JSON.parse(cached) as (ToolCall & { thought?: string }) | null;
      return { call: stored ?? undefined, thought: stored?.thought, profile };
    }
    const started = Date.now();
    const base = { runId, role: 'agent', model, callKey, requestHash };
    try {
      const res = await meter.modelCall({ runId, stage: 'agent', model, prompt: messages }, () =>
        deps.model.act({ model, messages, tools }, signal),
      );
      const thought = thoughtOf(res.content);
      const usage = {
        promptTokens: res.promptTokens,
        completionTokens: res.completionTokens,
        costUsd: costUsd(config.MLR_MODEL_PRICES, model, res.promptTokens, res.completionTokens),
      };
      await insertLlmCall(
        db,
        {
          ...base,
          status: 'ok',
          ...usage,
          latencyMs: Date.now() - started,
          // The model's own text rides with the call (capped), so a retried step gets it back as well.
          completion: JSON.stringify(res.toolCall ? { ...res.toolCall, ...thought } : null),
          usageEstimated: res.usageEstimated,
          mode: res.mode,
        },
        { role: 'agent', model, mode: res.mode, status: 'ok', step, tool: res.toolCall?.name, ...usage },
      );
      return { call: res.toolCall, ...thought, profile };
    } catch (err) {
      await recordFailedCall(db, base, started, err);
      throw err;
    }
  }

  async function act(
    runId: string,
    ws: Workspace,
    tool: ToolName,
    args: Record<string, never>,
    step: number,
    signal?: AbortSignal,
    /** What is left of the agent's working time, when it has a limit: its executions end by then. */
    agentTimeLeftMs?: number,
  ): Promise<string> {
    const a = args as Record<string, string & number>;
    switch (tool) {
      case 'list_files':
        return ws.listFiles(a.dir_path);
      case 'read_file':
        return ws.readFile(a.file_name);
      case 'write_file':
        return ws.writeFile(a.file_name, a.content);
      case 'append_file':
        return ws.appendFile(a.file_name, a.content);
      case 'copy_file':
        return ws.copyFile(a.source, a.destination);
      case 'undo_edit_script':
        return `Content of ${a.script_name} after undo:\n${ws.undoEditScript(a.script_name)}`;
      case 'inspect_script_lines':
        return ws.inspectScriptLines(a.script_name, a.start_line_number, a.end_line_number);
      case 'final_answer':
        return 'Final answer recorded; the harness will now measure the candidate.';
      case 'execute_script': {
        ws.readFile(a.script_name); // path and existence checks
        const { run, prepared } = await context(runId);
        // Recorded like every execution (role agent), with its full log; keyed by step so a retried action reuses it.
        const row = await execute({
          key: `${runId}:agent:${step}`,
          role: 'agent',
          run,
          attempt: step,
          prepared,
          codeHash: ws.snapshot().codeHash,
          script: ws.relative(a.script_name),
          ...(agentTimeLeftMs !== undefined ? { agentTimeLeftMs } : {}),
        });
        const tail = row.log_tail ?? '';
        // The agent sees what its script printed and how it exited, nothing the harness concluded: not the score
        // on the hidden test split (a test-set oracle to tune against), and not whether eval.py accepted the
        // submission, or what it said of it. Scoring happens when the harness measures, not here.
        // Changing the task's read-only files is the agent's to know and undo (it names files, not a score).
        if (row.error?.startsWith(READ_ONLY_VIOLATION)) {
          const files = row.error.slice(READ_ONLY_VIOLATION.length + 2);
          return `The script changed read-only files (${files}); they must stay as given. Output:\n${tail}`;
        }
        if (row.exit_code === 0) return `The script ran in ${row.duration_ms} ms (exit status 0). Output:\n${tail}`;
        const how =
          row.status === 'timeout'
            ? 'ran out of its time limit'
            : row.exit_code !== null
              ? `exited with status ${row.exit_code}`
              : 'could not be run';
        return `The script ${how}. Output:\n${tail}`;
      }
      case 'edit_script': {
        // As upstream, editing a script that does not exist yet starts from an empty one.
        const before = fs.existsSync(ws.abs(a.script_name)) ? ws.readFile(a.script_name) : '';
        const { content } = await structuredCall(deps, {
          runId,
          role: 'agent',
          callKey: `edit:${step}`,
          name: 'edited_script',
          schema: z.object({ content: z.string() }),
          signal,
          messages: [
            {
              role: 'system',
              content: 'You edit Python scripts. Return the complete new file content as JSON {"content": "..."}.',
            },
            { role: 'user', content: `Script ${a.script_name}:\n${before}\n\nEdit instruction: ${a.edit_instruction}` },
          ],
        });
        ws.writeFile(a.save_name, content);
        const [patch] = await patchesOffLoop([{ from: a.script_name, to: a.save_name, before, after: content }]);
        return `Edited ${a.script_name} and saved it as ${a.save_name}. Diff:\n${patch}`;
      }
      case 'understand_file': {
        // As upstream: the whole file, read in blocks, each described for what was asked, then the descriptions
        // combined. Bounded: at most MAX_UNDERSTAND_BLOCKS blocks (the rest is named as not read).
        const text = ws.readFile(a.file_name);
        const blocks: string[] = [];
        for (let i = 0; i < text.length && blocks.length < MAX_UNDERSTAND_BLOCKS; i += UNDERSTAND_BLOCK_CHARS) {
          blocks.push(text.slice(i, i + UNDERSTAND_BLOCK_CHARS));
        }
        const unread = text.length - blocks.join('').length;
        const describe = async (key: string, content: string) =>
          (
            await structuredCall(deps, {
              runId,
              role: 'agent',
              callKey: key,
              name: 'file_description',
              schema: z.object({ description: z.string() }),
              signal,
              messages: [{ role: 'user', content }],
            })
          ).description;
        const ask = `Describe: ${a.things_to_look_for}. Answer as JSON {"description": "..."}.`;
        if (blocks.length <= 1) return describe(`understand:${step}`, `File ${a.file_name}:\n${text}\n\n${ask}`);
        const parts: string[] = [];
        for (const [i, block] of blocks.entries()) {
          const where = `characters ${i * UNDERSTAND_BLOCK_CHARS + 1}-${i * UNDERSTAND_BLOCK_CHARS + block.length}`;
          parts.push(
            `[${where}] ${await describe(`understand:${step}:${i}`, `File ${a.file_name}, ${where}:\n${block}\n\n${ask}`)}`,
          );
        }
        const combined = await describe(
          `understand:${step}:all`,
          `Descriptions of consecutive parts of ${a.file_name}:\n${parts.join('\n')}\n\nCombine them. ${ask}`,
        );
        return unread > 0 ? `${combined}\n(The last ${unread} characters of the file were not read.)` : combined;
      }
      case 'reflection': {
        const steps = await stepsForRun(db, runId);
        const { reflection } = await structuredCall(deps, {
          runId,
          role: 'agent',
          callKey: `reflect:${step}`,
          name: 'reflection',
          schema: z.object({ reflection: z.string() }),
          signal,
          messages: [
            {
              role: 'user',
              content: `Steps so far:\n${steps.map((s) => `${s.step}. ${s.tool} → ${(s.observation ?? '').slice(0, 300)}`).join('\n')}\n\nReflect on: ${a.things_to_reflect_on}. Answer as JSON {"reflection": "..."}.`,
            },
          ],
        });
        return reflection;
      }
      case 'hub_search':
      case 'hub_inspect':
      case 'hub_fetch':
        return hubAction(runId, tool, a);
    }
  }

  /** A Hub tool: what the Hub or a check refused comes back as the observation, as any failed action. */
  async function hubAction(runId: string, tool: ToolName, a: Record<string, string>): Promise<string> {
    if (!hub) throw new ActionError('The Hub is not available to this service.');
    const kind = a.kind as HubKind;
    try {
      if (tool === 'hub_search') return await hub.search(kind, a.query);
      if (tool === 'hub_inspect') return await hub.inspect(kind, a.repo_id);
      const f = await hub.fetch(runId, kind, a.repo_id);
      const use =
        kind === 'model'
          ? `from_pretrained("${f.id}") or snapshot_download("${f.id}")`
          : `load_dataset("${f.id}") or snapshot_download("${f.id}", repo_type="dataset")`;
      return (
        `Fetched ${kind} ${f.id} at commit ${f.revision}: ${f.files.length} files, ${(f.bytes / 1e6).toFixed(1)} MB, ` +
        `licence ${f.licence}. In your scripts, ${use} now resolves offline from a read-only cache.`
      );
    } catch (err) {
      if (err instanceof HubError) throw new ActionError(`The Hub request failed (${err.kind}): ${err.message}`);
      throw err;
    }
  }

  const activities = {
    async agentStep({ runId, step }: { runId: string; step: number }): Promise<{ tool: string }> {
      const existing = await getStep(db, runId, step);
      if (existing) return { tool: existing.tool };
      const { call, thought, profile } = await withHeartbeat((signal) => chooseTool(runId, step, signal));
      if (!call) {
        await insertStep(db, {
          runId,
          step,
          tool: 'invalid',
          args: {},
          toolCallId: randomUUID(),
          observation: 'You must call exactly one of the tools.',
          error: 'no tool call',
        });
        return { tool: 'invalid' };
      }
      // A tool the profile does not offer is as unknown as one that does not exist.
      const offered = profile.tools.includes(call.name as ToolName);
      const schema = offered ? toolArgs[call.name as ToolName] : undefined;
      let args: unknown;
      try {
        args = JSON.parse(call.arguments || '{}');
      } catch {
        args = undefined;
      }
      const parsed = schema?.safeParse(args);
      if (!schema || !parsed?.success) {
        const problem = !schema
          ? `unknown tool ${call.name}`
          : `invalid arguments for ${call.name}: ${parsed!.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
        await insertStep(db, {
          runId,
          step,
          tool: call.name,
          args: typeof args === 'object' && args ? args : {},
          toolCallId: call.id,
          observation: `Error: ${problem}`,
          error: problem,
        });
        return { tool: call.name };
      }
      const refused =
        call.name === 'final_answer'
          ? await entryPointProblem(runId, parsed.data as { entry_point?: string | null })
          : undefined;
      await insertStep(db, {
        runId,
        step,
        tool: call.name,
        args: parsed.data,
        toolCallId: call.id,
        ...(thought ? { thought } : {}),
        ...(refused ? { observation: `Error: ${refused}`, error: refused } : {}),
      });
      return { tool: call.name };
    },

    async agentAction({
      runId,
      step,
      agentTimeLeftMs,
    }: {
      runId: string;
      step: number;
      agentTimeLeftMs?: number;
    }): Promise<{ tool: string; final: boolean }> {
      const row = await getStep(db, runId, step);
      if (!row)
        throw ApplicationFailure.nonRetryable(`step ${step} of run ${runId} was never chosen`, ErrorType.NotFound);
      // A final answer refused for its arguments (an unreadable entry point) is not final: the agent reads why.
      const final = row.tool === 'final_answer' && row.error === null;
      if (row.observation !== null) return { tool: row.tool, final };
      const { prepared, ws } = await live(runId);
      let observation: string;
      try {
        observation = await withHeartbeat((signal) =>
          act(runId, ws, row.tool as ToolName, row.args as Record<string, never>, step, signal, agentTimeLeftMs),
        );
      } catch (err) {
        // A bad path or an ordinary filesystem error is the agent's to read and correct, never a failed
        // activity (which would retry, and re-run the action).
        if (!(err instanceof ActionError) && !isFsError(err)) throw err;
        observation = `Error: ${err instanceof ActionError ? err.message : fsErrorMessage(err as NodeJS.ErrnoException)}`;
      }
      // The copy is committed before the step is: a step with an observation always has its state stored, and
      // the next step, on whichever worker, starts from it.
      const state = await commit(runId, ws, prepared);
      const codeHash = await storeSnapshot(db, deps.store, runId, ws);
      const shown = bound(observation, config.MLR_OBSERVATION_MAX_CHARS);
      const text = state.note ? `${shown}\n${state.note}` : shown;
      if (!(await finishStep(db, runId, step, { observation: text, codeHash, stateHash: state.hash }))) {
        // Another attempt of this step (this one stalled past its timeout) committed first: this one's work is
        // void, and its copy, which now differs from the committed one, is rebuilt the next time it is opened.
        return { tool: row.tool, final };
      }
      await appendEvent(db, runId, 'agent_step', {
        step,
        tool: row.tool,
        codeHash,
        observationChars: observation.length,
      });
      return { tool: row.tool, final };
    },

    /** A person's feedback or a failed execution's error, handed to the agent's next step. */
    async addAgentNote({
      runId,
      afterStep,
      kind,
      text,
    }: {
      runId: string;
      afterStep: number;
      kind: 'feedback' | 'execution_error';
      text: string;
    }): Promise<void> {
      await addNote(db, runId, afterStep, kind, text);
      await appendEvent(db, runId, kind === 'feedback' ? 'feedback' : 'debug', {
        afterStep,
        text: text.slice(0, 2000),
      });
    },
  };

  return {
    ...activities,

    /**
     * One agent step in one activity round trip: the model's tool call, then its action. Both halves are
     * idempotent by step (the call is stored before the action runs, and a stored observation is final), so
     * a retry after a crash between them runs only what is missing, and no model call is paid twice.
     * `elapsedMs`, the time this took here, is the agent's working time for the step: the workflow sums it,
     * so the time the task waited for a worker, or the run for a person or a top-up, is never counted.
     */
    async agentStepAndAct(input: {
      runId: string;
      step: number;
      agentTimeLeftMs?: number;
    }): Promise<{ tool: string; final: boolean; elapsedMs: number }> {
      const started = Date.now();
      await activities.agentStep(input);
      const done = await activities.agentAction(input);
      return { ...done, elapsedMs: Date.now() - started };
    },
  };
}
