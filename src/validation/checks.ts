// Sanity and leakage checks over a validated run. Each flag names what it saw, for the report.
import type { Summary } from './stats';

export type FlagKind =
  'forbidden_reads' | 'implausible_metric' | 'zero_variance' | 'identical_code' | 'no_op_change' | 'failed_seeds';

export interface Flag {
  kind: FlagKind;
  message: string;
}

/** What candidate code must not touch: hidden answers, the evaluation, anything outside the workspace. */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/answer\.csv/, 'the hidden answers (answer.csv)'],
  [/\beval\.py\b|get_score/, 'the evaluation script'],
  [/(['"])\.\.[\\/]/, 'a path outside the workspace (../)'],
  [/(['"])\/(?!dev\/null)[A-Za-z]/, 'an absolute path'],
  [/\bscripts[\\/]/, 'the task scripts folder'],
];

export function scanForbiddenReads(files: Record<string, string>): Flag[] {
  const flags: Flag[] = [];
  for (const [file, text] of Object.entries(files)) {
    if (!file.endsWith('.py')) continue;
    text.split('\n').forEach((line, i) => {
      for (const [re, what] of FORBIDDEN) {
        if (re.test(line))
          flags.push({
            kind: 'forbidden_reads',
            message: `\`${file}:${i + 1}\` refers to ${what}: \`${line.trim().slice(0, 120).replace(/`/g, "'")}\``,
          });
      }
    });
  }
  return flags;
}

export interface CheckInput {
  candidateFiles: Record<string, string>;
  starterHash: string;
  candidateHash: string;
  metric: string;
  direction: 'max' | 'min';
  baseline: Summary;
  candidate: Summary;
  /** Seeds change the result of this task (every shipped task); a zero spread is then suspicious. */
  stochastic: boolean;
  failedSeeds: number;
  /** The baseline is a value the task declares, the same on every seed by design. */
  fixedBaseline?: boolean;
  /** Each seed's measured value for both arms (seeds where either failed are left out). */
  perSeed?: Array<{ seed: number; baseline: number; candidate: number }>;
}

/** A change whose every seed measures exactly what the starter measured did nothing the metric can see. */
function noOp(perSeed: CheckInput['perSeed']): boolean {
  return (
    perSeed !== undefined &&
    perSeed.length >= 2 &&
    perSeed.every((p) => Math.abs(p.candidate - p.baseline) <= 1e-12 * Math.max(1, Math.abs(p.baseline)))
  );
}

export function runChecks(c: CheckInput): Flag[] {
  const flags = scanForbiddenReads(c.candidateFiles);
  const perfect =
    c.direction === 'max'
      ? c.candidate.values.every((v) => v >= 0.999) && c.candidate.values.every((v) => v <= 1)
      : c.candidate.values.every((v) => Math.abs(v) <= 1e-9);
  if (perfect)
    flags.push({
      kind: 'implausible_metric',
      message: `every candidate ${c.metric} is ${c.direction === 'max' ? 'perfect (≥ 0.999)' : 'zero'}: check for leakage`,
    });
  if (c.stochastic) {
    const arms = [
      ['baseline', c.baseline],
      ['candidate', c.candidate],
    ] as const;
    for (const [role, s] of arms.filter(([role]) => !(role === 'baseline' && c.fixedBaseline))) {
      // A tolerance, not === 0: the mean of equal floats need not be exactly one of them.
      if (s.n > 1 && s.std <= 1e-12 * Math.max(1, Math.abs(s.mean)))
        flags.push({
          kind: 'zero_variance',
          message: `the ${role}'s ${c.metric} is identical across ${s.n} seeds although the task is stochastic: the seed may be ignored`,
        });
    }
  }
  if (c.starterHash === c.candidateHash)
    flags.push({ kind: 'identical_code', message: 'the candidate code is identical to the baseline (same code hash)' });
  else if (noOp(c.perSeed))
    flags.push({
      kind: 'no_op_change',
      message: `the candidate's ${c.metric} equals the baseline's on every one of ${c.perSeed!.length} seeds: the change has no measured effect (a comment-only or dead-code edit?)`,
    });
  if (c.failedSeeds > 0)
    flags.push({
      kind: 'failed_seeds',
      message: `${c.failedSeeds} validation execution(s) failed and are left out of the statistics`,
    });
  return flags;
}
