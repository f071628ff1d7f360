// Prompt text for each IdeaAgent step. Pure functions: the tests read what the model was asked.
import type { ChatMessage } from '../clients/llm';
import type { Analysis, Idea } from '../domain/schemas';

const SYSTEM =
  'You are the IdeaAgent of MLR-Copilot, an ML research assistant. Be concrete and honest; ' +
  'never invent results or citations. Answer only with JSON that follows the given schema.';

/** Caps the paper text so one prompt stays within a model's context whatever was uploaded. */
export const MAX_PAPER_CHARS = 60_000;

export function analysisPrompt(title: string, paperText: string): ChatMessage[] {
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content:
        `Read this paper and extract (1) the task definition, (2) the research gaps it leaves open, each with ` +
        `the evidence from the text, and (3) up to 10 search keywords for related work.\n\n` +
        `Title: ${title}\n\n${paperText.slice(0, MAX_PAPER_CHARS)}`,
    },
  ];
}

export interface RelatedPaper {
  title: string;
  year?: number | null;
  abstract?: string | null;
}

export function ideationPrompt(args: {
  title: string;
  analysis: Analysis;
  related: RelatedPaper[];
  count: number;
  feedback?: string;
  previous?: Idea[];
}): ChatMessage[] {
  const related = args.related.length
    ? args.related
        .map((p) => `- ${p.title}${p.year ? ` (${p.year})` : ''}: ${(p.abstract ?? '').slice(0, 400)}`)
        .join('\n')
    : '(related-work retrieval was unavailable; rely on the paper alone)';
  let content =
    `Propose exactly ${args.count} research ideas that address the gaps of the paper "${args.title}".\n\n` +
    `Task definition: ${JSON.stringify(args.analysis.taskDefinition)}\n` +
    `Gaps: ${JSON.stringify(args.analysis.gaps)}\n\nRelated work:\n${related}\n\n` +
    'Each idea needs a testable hypothesis and an experiment plan that a single machine can run. Where a ' +
    "pretrained model or a dataset from the Hugging Face Hub would help, name it in the plan's hub list " +
    '(kind and repository id); the experiment has no network otherwise.';
  if (args.feedback) {
    content +=
      `\n\nThe researcher reviewed the previous ideas and asks for a revision.\nPrevious ideas: ` +
      `${JSON.stringify((args.previous ?? []).map((i) => i.title))}\nResearcher feedback: ${args.feedback}`;
  }
  return [
    { role: 'system', content: SYSTEM },
    { role: 'user', content },
  ];
}

export function reviewPrompt(title: string, ideas: Idea[]): ChatMessage[] {
  const listed = ideas.map((idea, index) => ({ index, ...idea }));
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content:
        `Review these research ideas for the paper "${title}". Score each from 1 to 10 on its expected ` +
        `value (novelty, feasibility, clarity of the hypothesis) and critique it in two sentences. Return one ` +
        `ranking entry per idea, best first, using each idea's index exactly once.\n\n${JSON.stringify(listed)}`,
    },
  ];
}

export function reaskMessage(problem: string): ChatMessage {
  return {
    role: 'user',
    content: `Your previous answer was not valid: ${problem}. Answer again with JSON that follows the schema exactly.`,
  };
}
