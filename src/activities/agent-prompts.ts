// What the ExperimentAgent sees: its instructions, the approved idea, and its recent steps.
import type { HubFetched } from '../domain/hub';
import type { AgentMessage } from '../clients/llm';
import type { AgentNoteRow, AgentStepRow } from '../db/agent';
import type { Task } from '../tasks/library';
import type { Idea } from '../domain/schemas';

/** Steps shown in full; older ones are summarised in one line each, as MLAgentBench keeps a short context. */
export const FULL_STEPS = 10;

export function agentSystemPrompt(task: Task): string {
  return [
    'You are the ExperimentAgent of MLR-Copilot. You implement an approved research idea by adapting the',
    'prototype code in your workspace, using one tool per step.',
    `The task's metric is ${task.metric} (${task.direction === 'max' ? 'higher' : 'lower'} is better); it is measured by the`,
    "harness with the task's hidden evaluation, never by numbers you print.",
    'Rules: keep a plan; run your code with execute_script before finishing; never edit read-only data files;',
    'do not install packages or use the network; when the candidate code is ready, call final_answer.',
  ].join('\n');
}

export function agentTaskMessage(task: Task, idea: Idea | undefined, files: string, hub: HubFetched[] = []): string {
  const planned = idea?.experimentPlan.hub ?? [];
  const missing = planned.filter((p) => !hub.some((h) => h.kind === p.kind && h.id === p.id));
  return [
    `Research problem:\n${task.researchProblem}`,
    ...(idea
      ? [
          `Approved idea: ${idea.title}\nHypothesis: ${idea.hypothesis}`,
          `Experiment plan:\n${idea.experimentPlan.steps.map((s, i) => `${i + 1}. ${s}`).join('\n')}`,
          `Baseline: ${idea.experimentPlan.baseline}. Expected outcome: ${idea.experimentPlan.expectedOutcome}`,
        ]
      : []),
    ...(hub.length
      ? [
          'From the Hugging Face Hub, readable offline in your scripts (from_pretrained, load_dataset, ' +
            `snapshot_download by id):\n${hub.map((h) => `- ${h.kind} ${h.id} at commit ${h.revision}`).join('\n')}`,
        ]
      : []),
    ...(missing.length
      ? [
          `Planned but not retrieved (see the run's events for why): ${missing.map((m) => `${m.kind} ${m.id}`).join(', ')}.` +
            ' Use hub_search to find another.',
        ]
      : []),
    `Files in the workspace:\n${files}`,
  ].join('\n\n');
}

function brief(step: AgentStepRow): string {
  const args = JSON.stringify(step.args);
  return `${step.step}. ${step.tool}(${args.length > 120 ? `${args.slice(0, 120)}…` : args}) → ${(step.observation ?? '').replace(/\s+/g, ' ').slice(0, 150)}`;
}

export function noteMessage(note: AgentNoteRow): AgentMessage {
  return note.kind === 'feedback'
    ? { role: 'user', content: `Feedback from the researcher: ${note.text}` }
    : {
        role: 'user',
        content: `The candidate execution failed. Fix the code, run it, then call final_answer again.\n${note.text}`,
      };
}

/** The conversation for the next step, rebuilt from Postgres so any worker can take it over. */
export function agentMessages(
  system: string,
  taskMessage: string,
  steps: AgentStepRow[],
  notes: AgentNoteRow[],
  fullSteps = FULL_STEPS,
  keepThoughts = false,
): AgentMessage[] {
  const messages: AgentMessage[] = [
    { role: 'system', content: system },
    { role: 'user', content: taskMessage },
  ];
  const cut = Math.max(0, steps.length - fullSteps);
  if (cut > 0)
    messages.push({
      role: 'user',
      content: `Earlier steps, summarised:\n${steps.slice(0, cut).map(brief).join('\n')}`,
    });
  const notesAfter = (step: number) => notes.filter((n) => n.after_step === step).map(noteMessage);
  const firstFull = steps[cut]?.step ?? Infinity;
  // Notes given before the first full step: before any step (-1) or during the summarised ones.
  messages.push(...notes.filter((n) => n.after_step < firstFull).map(noteMessage));
  for (const s of steps.slice(cut)) {
    if (s.tool === 'invalid') {
      messages.push({ role: 'user', content: s.observation ?? 'Call exactly one tool.' });
    } else {
      messages.push({
        role: 'assistant',
        content: keepThoughts ? (s.thought ?? null) : null,
        toolCall: { id: s.tool_call_id, name: s.tool, arguments: JSON.stringify(s.args) },
      });
      messages.push({ role: 'tool', toolCallId: s.tool_call_id, content: s.observation ?? '' });
    }
    messages.push(...notesAfter(s.step));
  }
  return messages;
}

/** Keeps the head and the tail of a long observation (errors are usually at the end). */
export function bound(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor((max - 60) / 2);
  return `${text.slice(0, half)}\n[… ${text.length - 2 * half} characters cut …]\n${text.slice(-half)}`;
}
