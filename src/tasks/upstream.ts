// The thirteen MLAgentBench tasks (snap-stanford/MLAgentBench, MLAgentBench/benchmarks/<folder>), so that an
// upstream folder copied here unchanged is scored the right way round. Sources, in that repository:
// - direction: `lower_the_better_tasks` in MLAgentBench/plot.py ("parkinsons-disease", "feedback", "BabyLM",
//   "llama-inference", "house-price", "vectorization"); every other task is higher-is-better;
// - metric: what each task's scripts/eval.py (or, for llama-inference and vectorization, its timing script)
//   computes;
// - invalid scores: plot.py keeps a final score only when it is > 0 (`x if x > 0 else None`), which is how
//   upstream eval scripts signal a missing or malformed submission.
// A task.json beside the folder overrides any of these.

export interface UpstreamTask {
  metric: string;
  direction: 'max' | 'min';
  /**
   * The fixed baseline plot.py uses where the starter is not meant to run (MLAgentBench/plot.py: imdb 0.5,
   * spaceship-titanic 0.5, house-price 1e10, fathomnet 1e-10, ogbn-arxiv 0.3134, vectorization 6.1742).
   */
  baseline?: number;
  /** Hub datasets its code loads by id (fetched when the task is prepared, read offline). */
  hubDatasets?: string[];
  /**
   * What its code imports, pinned, for a folder that brings no requirements.txt: a `datasets` of before
   * huggingface_hub 1.0, which still resolves the legacy one-word ids (such as "imdb") its code uses.
   */
  requirements?: string[];
}

/** imdb's train.py imports torch and pandas; its train.py and eval.py call load_dataset("imdb"). */
const IMDB_REQUIREMENTS = [
  'datasets==3.6.0',
  'huggingface_hub==0.36.2',
  'pandas==3.1.1',
  'numpy==2.4.6',
  'torch==2.9.1',
];

export const UPSTREAM_TASKS: Readonly<Record<string, UpstreamTask>> = {
  cifar10: { metric: 'accuracy', direction: 'max' },
  imdb: { metric: 'accuracy', direction: 'max', baseline: 0.5, hubDatasets: ['imdb'], requirements: IMDB_REQUIREMENTS },
  'ogbn-arxiv': { metric: 'accuracy', direction: 'max', baseline: 0.3134 },
  'spaceship-titanic': { metric: 'accuracy', direction: 'max', baseline: 0.5 },
  fathomnet: { metric: 'osd_score', direction: 'max', baseline: 1e-10 },
  'identify-contrails': { metric: 'dice', direction: 'max' },
  CLRS: { metric: 'score', direction: 'max' },
  'house-price': { metric: 'mae', direction: 'min', baseline: 1e10 },
  'amp-parkinsons-disease-progression-prediction': { metric: 'smape', direction: 'min' },
  feedback: { metric: 'mcrmse', direction: 'min' },
  babylm: { metric: 'perplexity', direction: 'min' },
  'llama-inference': { metric: 'seconds_per_token', direction: 'min' },
  vectorization: { metric: 'seconds', direction: 'min', baseline: 6.1742 },
};

/** Upstream scores at or below this are "no valid submission", not a result (plot.py). */
export const UPSTREAM_INVALID_AT_OR_BELOW = 0;
