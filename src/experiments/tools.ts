// The MLAgentBench action set as OpenAI function tools (exactly the upstream names and arguments), and the Hub's
// three tools, which only the copilot profile offers (mlab keeps upstream's set).
import { z } from 'zod';
import { toStrictJsonSchema } from '../domain/schemas';

const str = z.string();

export const toolArgs = {
  list_files: z.object({ dir_path: str }),
  read_file: z.object({ file_name: str }),
  write_file: z.object({ file_name: str, content: str }),
  append_file: z.object({ file_name: str, content: str }),
  copy_file: z.object({ source: str, destination: str }),
  undo_edit_script: z.object({ script_name: str }),
  execute_script: z.object({ script_name: str }),
  inspect_script_lines: z.object({
    script_name: str,
    start_line_number: z.number().int(),
    end_line_number: z.number().int(),
  }),
  understand_file: z.object({ file_name: str, things_to_look_for: str }),
  edit_script: z.object({ script_name: str, edit_instruction: str, save_name: str }),
  reflection: z.object({ things_to_reflect_on: str }),
  final_answer: z.object({ final_answer: str, entry_point: z.string().nullish() }),
  hub_search: z.object({ kind: z.enum(['model', 'dataset']), query: str }),
  hub_inspect: z.object({ kind: z.enum(['model', 'dataset']), repo_id: str }),
  hub_fetch: z.object({ kind: z.enum(['model', 'dataset']), repo_id: str }),
} as const;

/**
 * What the model is shown where it differs from what is accepted: strict function calling wants every property
 * required, so an optional one is required-but-nullable there, while an answer that leaves it out is accepted.
 */
const shownArgs: Partial<Record<keyof typeof toolArgs, z.ZodType>> = {
  final_answer: z.object({ final_answer: str, entry_point: z.string().nullable() }),
};

export type ToolName = keyof typeof toolArgs;
export const TOOL_NAMES = Object.keys(toolArgs) as ToolName[];

const descriptions: Record<ToolName, string> = {
  list_files: 'List the files in a directory of the workspace ("." for the top).',
  read_file: 'Read a whole file.',
  write_file: 'Write a file (overwrites; the previous version can be restored with undo_edit_script).',
  append_file: 'Append text to a file.',
  copy_file: 'Copy a file to a writable destination.',
  undo_edit_script: 'Restore the previous version of a script and return its content.',
  execute_script: 'Run a Python script in the workspace and return its output (stderr on failure).',
  inspect_script_lines: 'Show lines start..end (1-based, at most 100) of a script.',
  understand_file: 'Have a model read a file and describe what you ask about.',
  edit_script: 'Have a model rewrite a script by your instruction and save it under save_name; returns the diff.',
  reflection: 'Have a model reflect on the research so far.',
  final_answer:
    'Finish: the candidate code in the workspace is ready to be measured. Summarise what you changed, and name in ' +
    'entry_point the script the harness runs to measure it (null: train.py).',
  hub_search:
    'Search the Hugging Face Hub for pretrained models or datasets; returns candidates ranked by fit, licence and popularity.',
  hub_inspect: 'Show a Hub model or dataset: its commit, licence, files and sizes, and whether it can be fetched.',
  hub_fetch:
    'Fetch a Hub model or dataset (pinned to its current commit) for your scripts: from_pretrained(repo_id), ' +
    'load_dataset(repo_id) and snapshot_download(repo_id) then work offline. There is no network otherwise.',
};

export interface ToolDefinition {
  name: ToolName;
  description: string;
  parameters: Record<string, unknown>;
}

export const TOOLS: ToolDefinition[] = TOOL_NAMES.map((name) => ({
  name,
  description: descriptions[name],
  parameters: toStrictJsonSchema(shownArgs[name] ?? toolArgs[name]),
}));

/** Tools that change no file and run nothing: they still count as steps, as the model chose them. */
export const READ_ONLY_TOOLS: ReadonlySet<ToolName> = new Set([
  'list_files',
  'read_file',
  'inspect_script_lines',
  'understand_file',
  'reflection',
  // The Hub's tools change no file of the workspace: a fetch lands in the read-only cache.
  'hub_search',
  'hub_inspect',
  'hub_fetch',
]);
