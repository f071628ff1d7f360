// The API's shapes as the console reads them (the OpenAPI document at /docs has the full ones).
import type { benchmarkResults, TaskResult } from '../../src/domain/benchmark';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Spend {
  usd: number;
  tokens: number;
  gpuHours: number;
  cpuHours: number;
}

export interface PaperSummary {
  id: string;
  title: string;
  format: string;
  bytes: number;
  createdAt: string;
}

export interface Paper extends PaperSummary {
  sections: Array<{ kind: string; heading: string; chars: number; text: string }>;
}

export interface Idea {
  id: string;
  round: number;
  rank: number | null;
  review: { score: number | null; critique: string } | null;
  title: string;
  problem: string;
  motivation: string;
  hypothesis: string;
  experimentPlan: {
    steps: string[];
    dataset: string;
    model: string;
    metric: string;
    baseline: string;
    expectedOutcome: string;
  };
  noveltyScore: number;
  feasibilityScore: number;
  rationale: string;
}

export interface Experiment {
  id: string;
  role: string;
  attempt: number;
  seed: number | null;
  status: string;
  exitCode: number | null;
  durationMs: number | null;
  peakMemoryMb: number | null;
  metrics: Record<string, unknown> | null;
  error: string | null;
  executor: string | null;
}

export interface Run {
  id: string;
  owner: string;
  status: string;
  paperId: string;
  mode: string;
  round: number;
  until: string;
  paused: boolean;
  taskId: string | null;
  taskDefinition: {
    problem: string;
    inputs: string;
    outputs: string;
    datasets: string[];
    metrics: string[];
  } | null;
  gaps: Array<{ gap: string; evidence: string }> | null;
  keywords: string[] | null;
  relatedWork: Array<{
    paperId: string;
    title: string;
    abstract: string | null;
    year: number | null;
    url: string | null;
    authors: string[];
  }> | null;
  retrieval: { status: string; reason?: string } | null;
  ideas: Idea[];
  selectedIdeaId: string | null;
  experiments: Experiment[];
  result: {
    metric: string;
    direction: string;
    baseline: number;
    value: number;
    improvement: number;
  } | null;
  validation: { verdict?: string } | null;
  spend: Spend;
  budget: Record<string, number> | null;
  campaign: { id: string; slot: number; ideaRank: number | null } | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Step {
  step: number;
  tool: string;
  args: Record<string, unknown>;
  observation: string | null;
  observationTruncated: boolean;
  error: string | null;
  experimentId: string | null;
  experimentStatus: string | null;
  createdAt: string;
}

export interface Approval {
  runId: string;
  owner: string;
  paper: { id: string; title: string | null };
  campaign: { id: string; slot: number; ideaRank: number | null } | null;
  round: number;
  waitingSeconds: number;
  ideas: Idea[];
}

export interface Campaign {
  id: string;
  name: string;
  status: string;
  /** A benchmark is a campaign over library tasks (no papers, no ideas). */
  kind: 'campaign' | 'benchmark';
  spec: {
    paperIds: string[];
    taskIds?: string[];
    profile?: string;
    runsPerPaper: number;
    maxConcurrentRuns: number;
    mode: string;
    until: string;
  };
  runs: { total: number; created: number; byStatus: Record<string, number> };
  spend: Spend;
  budget: Record<string, number> | null;
  results?: Array<{
    runId: string;
    status: string;
    paper: { id: string; title: string };
    idea: { id: string; title: string } | null;
    taskId: string | null;
    metric: string | null;
    verdict: string | null;
    effect: { estimate: number; ci95: [number, number] } | null;
    pValue: number | null;
    seeds: number | null;
    cost: Spend;
  }>;
  createdAt: string;
}

/** A benchmark (GET /v1/benchmarks/:id): its results are the service's own scoring module's output, as JSON. */
export type { TaskResult };

export interface Benchmark {
  id: string;
  profile: string;
  tasks: string[];
  runsPerTask: number;
  results: ReturnType<typeof benchmarkResults>;
}
