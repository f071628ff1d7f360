// ValidateAgent activities: baseline and candidate over K seeds, statistics and checks, and the report.
// The model writes the discussion only; every number comes from stored measurements.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { appendEvent } from '../db/events';
import { cachedBaseline, computeMsForRun, experimentByKey, experimentsByIds, getExperiment } from '../db/experiments';
import { getIdea } from '../db/ideas';
import { modelsForRun, usageForRun } from '../db/llm-calls';
import { upsertReport } from '../db/reports';
import { getSnapshot, snapshotOfExperiment } from '../db/snapshots';
import { getPaper } from '../db/papers';
import { getRun, patchRun, type StoredValidation } from '../db/runs';
import { ErrorType } from '../errors';
import { chartSpec, renderSvg } from '../validation/chart';
import { runChecks } from '../validation/checks';
import { unmeasuredNumbers } from '../validation/provenance';
import { hubReposForRun } from '../db/hub-repos';
import { diffStats, renderMarkdown, type Discussion, type ReportData } from '../validation/report';
import { ALPHA, compare } from '../validation/verdict';
import { createRunContext, selectedIdea } from './run-context';
import { withHeartbeat } from './heartbeat';
import type { ActivityDeps } from './deps';
import { structuredCall } from './structured';

const execFileP = promisify(execFile);

export function createValidationActivities(deps: ActivityDeps) {
  const { db } = deps;
  const { context, execute } = createRunContext(deps);

  /** The records a report's numbers must come from, read back from Postgres. */
  async function records(runId: string): Promise<unknown[]> {
    const run = await getRun(db, runId);
    const exps = await experimentsByIds(db, run?.validation?.runs.map((r) => r.experimentId) ?? []);
    const snap = run?.result ? await snapshotOfExperiment(db, run.result.candidateExperimentId) : undefined;
    const idea = run?.selected_idea_id ? await getIdea(db, run.selected_idea_id) : undefined;
    const ideas = idea ? [{ body: idea.body }] : [];
    return [
      run?.validation,
      exps,
      await usageForRun(db, runId),
      run?.gaps,
      ideas,
      diffStats(snap?.diff ?? ''),
      run?.result,
    ];
  }

  return {
    async runValidationExecution({
      runId,
      role,
      seed,
    }: {
      runId: string;
      role: 'baseline' | 'candidate';
      seed: number;
    }): Promise<{ id: string; status: string }> {
      const { run, prepared } = await context(runId);
      const result = run.result;
      if (!result)
        throw ApplicationFailure.nonRetryable(`run ${runId} has no measured candidate to validate`, ErrorType.NotFound);
      const candidate = await getExperiment(db, result.candidateExperimentId);
      const codeHash = role === 'baseline' ? run.starter_hash! : candidate!.code_hash;
      // Finished baselines are shared by task, code and seed across runs; one being measured is not: each run
      // runs its own (the key is per run), so concurrent runs of a campaign never share an execution's folder.
      if (role === 'baseline') {
        const cached = await cachedBaseline(
          db,
          { id: prepared.task.id, fingerprint: prepared.fingerprint },
          codeHash,
          seed,
        );
        if (cached) return { id: cached.id, status: cached.status };
      }
      const key = `${runId}:validate:${role}:${seed}`;
      const done = await experimentByKey(db, key);
      if (done && done.status !== 'running') return { id: done.id, status: done.status };
      // Each execution runs its own fresh copy of the snapshot that was measured (the executor makes it),
      // so parallel seeds never share output files and nothing from the live workspace counts.
      // The candidate runs the script it was measured with (the agent's named entry point); the baseline, train.py.
      const script = role === 'candidate' ? (candidate!.script ?? 'train.py') : 'train.py';
      const row = await execute({ key, role, run, attempt: 0, prepared, codeHash, seed, script });
      return { id: row.id, status: row.status };
    },

    /** Statistics, verdict and checks over the stored executions; kept in runs.validation. */
    async finalizeValidation({
      runId,
      seeds,
      executions,
    }: {
      runId: string;
      seeds: number[];
      executions: Array<{ role: 'baseline' | 'candidate'; seed: number; id: string }>;
    }): Promise<{ verdict: string }> {
      const { run, prepared } = await context(runId);
      const byId = new Map(
        (
          await experimentsByIds(
            db,
            executions.map((e) => e.id),
          )
        ).map((r) => [r.id, r]),
      );
      const metric = prepared.task.metric;
      const runs = executions.map((e) => {
        const row = byId.get(e.id)!;
        return {
          role: e.role,
          seed: e.seed,
          codeHash: row.code_hash,
          experimentId: row.id,
          status: row.status,
          metrics: row.metrics as Record<string, unknown> | null,
        };
      });
      const values = (role: string) =>
        runs.filter((r) => r.role === role && r.status === 'succeeded').map((r) => r.metrics![metric] as number);
      const [b, c] = [values('baseline'), values('candidate')];
      if (b.length < 2 || c.length < 2) {
        throw ApplicationFailure.nonRetryable(
          `validation needs 2 successful seeds per arm; got ${b.length} baseline, ${c.length} candidate`,
          ErrorType.ValidationShortfall,
        );
      }
      const comparison = compare(b, c, metric, prepared.task.direction);
      const failedSeeds = runs.filter((r) => r.status !== 'succeeded').length;
      // The code that was measured, as stored, not the live workspace (which the agent's last tries may have
      // changed since, or which another worker may not hold).
      const candidateHash = runs.find((r) => r.role === 'candidate')!.codeHash;
      const measured = await getSnapshot(db, runId, candidateHash);
      if (!measured) throw new Error(`snapshot ${candidateHash} of run ${runId} is missing`);
      const files: Record<string, string> = {};
      for (const [file, sha] of Object.entries(measured.manifest))
        files[file] = (await deps.store.get(deps.store.uri(`blobs/${sha}`))).toString('utf8');
      const flags = runChecks({
        candidateFiles: files,
        starterHash: run.starter_hash!,
        candidateHash,
        metric,
        direction: prepared.task.direction,
        baseline: comparison.baseline,
        candidate: comparison.candidate,
        stochastic: !prepared.task.tags.includes('deterministic'),
        fixedBaseline: prepared.task.baseline !== undefined,
        failedSeeds,
        perSeed: seeds.flatMap((seed) => {
          const value = (role: string) =>
            runs.find((r) => r.role === role && r.seed === seed && r.status === 'succeeded')?.metrics?.[metric];
          const [bv, cv] = [value('baseline'), value('candidate')];
          return typeof bv === 'number' && typeof cv === 'number' ? [{ seed, baseline: bv, candidate: cv }] : [];
        }),
      });
      const validation: StoredValidation = {
        ...comparison,
        metric,
        direction: prepared.task.direction,
        seeds,
        alpha: ALPHA,
        failedSeeds,
        runs,
        flags,
      };
      await patchRun(db, runId, { validation });
      await appendEvent(db, runId, 'validation', {
        verdict: comparison.verdict,
        pValue: comparison.pValue,
        flags: flags.map((f) => f.kind),
      });
      return { verdict: comparison.verdict };
    },

    /** The discussion from the model (numbers refused), then the report and its chart, stored. */
    async writeReport({ runId }: { runId: string }): Promise<{ chars: number }> {
      const { run, prepared } = await context(runId);
      const validation = run.validation;
      if (!validation) throw ApplicationFailure.nonRetryable(`run ${runId} has not been validated`, ErrorType.NotFound);
      const known = await records(runId);
      const idea = await selectedIdea(db, run, prepared.task);
      let discussion: Discussion;
      try {
        const measured = {
          metric: validation.metric,
          direction: validation.direction,
          baseline: validation.baseline,
          candidate: validation.candidate,
          test: validation.test,
          pValue: validation.pValue,
          effectSize: validation.effectSize,
          verdict: validation.verdict,
          flags: validation.flags,
        };
        discussion = await withHeartbeat((signal) =>
          structuredCall(deps, {
            runId,
            role: 'agent',
            callKey: 'discussion',
            name: 'report_discussion',
            signal,
            schema: z.object({
              interpretation: z.string().min(1).max(4000),
              limitations: z.array(z.string().min(1).max(500)).max(8),
            }),
            messages: [
              {
                role: 'system',
                content:
                  'You are the ValidateAgent. Interpret measured results honestly. Do not write any digits: the report prints every number itself from the measurements.',
              },
              {
                role: 'user',
                content: `Hypothesis: ${idea.hypothesis}\nMeasured: ${JSON.stringify(measured)}\nWrite the interpretation and the limitations, without numbers.`,
              },
            ],
            check: (v) => {
              const invented = unmeasuredNumbers([v.interpretation, ...v.limitations].join('\n'), known);
              return invented.length
                ? `it states numbers that were not measured (${invented.join(', ')}); write no digits`
                : undefined;
            },
          }),
        );
      } catch (err) {
        if (!(err instanceof ApplicationFailure) || err.type !== ErrorType.LlmInvalidOutput) throw err;
        discussion = {
          interpretation: '',
          limitations: [],
          withheld: "The ValidateAgent's discussion was withheld: it kept citing numbers that were not measured.",
        };
      }
      const paper = run.paper_id ? await getPaper(db, run.paper_id) : undefined;
      const snap = await getSnapshot(db, runId, validation.runs.find((r) => r.role === 'candidate')!.codeHash);
      const usage = await usageForRun(db, runId);
      const models = await modelsForRun(db, runId);
      const data: ReportData = {
        runId,
        generatedAt: new Date().toISOString(),
        paper: run.paper_id ? { id: run.paper_id, title: paper?.title ?? '' } : null,
        task: {
          id: prepared.task.id,
          domain: prepared.task.domain,
          metric: prepared.task.metric,
          direction: prepared.task.direction,
          ...(prepared.task.baseline !== undefined ? { fixedBaseline: prepared.task.baseline } : {}),
        },
        gaps: (run.gaps ?? []) as ReportData['gaps'],
        idea,
        diff: diffStats(snap?.diff ?? ''),
        validation,
        flags: validation.flags,
        provenance: {
          starterHash: run.starter_hash!,
          candidateHash: validation.runs.find((r) => r.role === 'candidate')!.codeHash,
          dataHash: prepared.envHash,
          // Read from the environment that ran the task (its own, when it declares requirements), not the service's.
          ...(await pythonVersions(prepared.python ?? deps.python, requirementNames(prepared.task.envRequirements))),
          models,
          ...usage,
          wallTimeMs: Date.now() - run.created_at.getTime(),
          computeTimeMs: await computeMsForRun(db, runId),
          hub: await hubReposForRun(db, runId),
        },
        discussion,
      };
      const markdown = renderMarkdown(data);
      const svg = await renderSvg(chartSpec(validation));
      await upsertReport(db, { runId, data, markdown, chartSvg: svg });
      return { chars: markdown.length };
    },
  };
}

/** Package names of a task's pinned requirements (`name[extras]==version ; marker`), for provenance. */
export function requirementNames(requirements: string | undefined): string[] {
  if (!requirements) return [];
  return requirements
    .split('\n')
    .map((l) => /^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(l.trim())?.[1])
    .filter((n): n is string => n !== undefined);
}

const PROVENANCE_PACKAGES = ['numpy', 'pandas', 'scikit-learn', 'scipy', 'torch'];

async function pythonVersions(
  python: string,
  extra: string[],
): Promise<{ python: string; packages: Record<string, string> }> {
  const names = [...new Set([...PROVENANCE_PACKAGES, ...extra])];
  const { stdout } = await execFileP(
    python,
    [
      '-c',
      `import json, platform, sys
from importlib import metadata
pk = {}
for n in json.loads(sys.argv[1]):
    try: pk[n] = metadata.version(n)
    except Exception: pass
print(json.dumps({"python": platform.python_version(), "packages": pk}))`,
      JSON.stringify(names),
    ],
    { timeout: 30_000 },
  );
  return JSON.parse(stdout) as { python: string; packages: Record<string, string> };
}
