// Shapes stored in a run's JSON columns and shared by every layer; the lowest module, importing nothing.

/** A run's statuses in the order a run goes through them (the workflow and the console both read this list). */
export const RUN_STATUSES = [
  'queued',
  'analyzing',
  'retrieving',
  'ideating',
  'awaiting_approval',
  'awaiting_budget',
  'awaiting_slot',
  'approved',
  'implementing',
  'executing',
  'debugging',
  'validating',
  'succeeded',
  'rejected',
  'cancelled',
  'failed',
] as const;

/** The measured outcome of a run's experiment stage (runs.result). */
export interface RunResult {
  metric: string;
  direction: 'max' | 'min';
  baseline: number;
  value: number;
  /** Positive when the candidate is better, in the metric's units. */
  improvement: number;
  relativeImprovement: number | null;
  baselineExperimentId: string;
  candidateExperimentId: string;
  /**
   * How the baseline was had: the mean of `executions` executions of the starter at consecutive seeds (the
   * profile says how many: 3 for mlab, as upstream averages its baseline runs), or the number the task declares.
   * Absent on results from before it was recorded (one execution).
   */
  baselineOf?: { kind: 'measured'; executions: number; experimentIds: string[] } | { kind: 'fixed' };
}

/** A related paper found by retrieval (runs.related_work). */
export interface RelatedPaper {
  paperId: string;
  title: string;
  abstract: string | null;
  year: number | null;
  url: string | null;
  citationCount: number | null;
  authors: string[];
}

/** How retrieval went (runs.retrieval). */
export interface Retrieval {
  status: 'ok' | 'unavailable';
  reason?: string;
  source?: string;
}
