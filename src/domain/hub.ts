// Models and datasets from the Hugging Face Hub: what the service knows of a repository, how candidates are
// ranked, and when a fetch is refused. Pure; the client (clients/hub.ts) and the agent's tools use it.
import path from 'node:path';

export type HubKind = 'model' | 'dataset';

export interface HubSummary {
  id: string;
  /** The commit the Hub lists now. */
  sha: string;
  downloads: number;
  likes: number;
  tags: string[];
  pipelineTag?: string | null;
  licence?: string | null;
  gated: boolean;
  private: boolean;
}

export interface HubRepoInfo extends HubSummary {
  files: Array<{ path: string; size: number }>;
}

/** A repository fetched for a run: pinned to a commit, recorded with the run and in its report's provenance. */
export interface HubFetched {
  kind: HubKind;
  id: string;
  revision: string;
  files: string[];
  bytes: number;
  licence: string | null;
}

export interface HubPolicy {
  /** Licences (SPDX-like ids, lower case) a fetch may carry. */
  licences: readonly string[];
  /** Largest repository, in bytes. */
  maxBytes: number;
}

/** Why a repository is not fetched, or undefined when it may be. */
export function refusal(info: HubRepoInfo, policy: HubPolicy): string | undefined {
  if (info.gated) return `${info.id} is gated: it needs its owner's approval, which the service does not ask for`;
  if (info.private) return `${info.id} is private`;
  const licence = info.licence?.toLowerCase();
  if (!licence) return `${info.id} declares no licence; allowed: ${policy.licences.join(', ')}`;
  if (!policy.licences.includes(licence)) {
    return `${info.id} is under ${licence}, which is not allowed (allowed: ${policy.licences.join(', ')})`;
  }
  const bytes = sizeOf(info);
  if (bytes > policy.maxBytes) {
    return `${info.id} holds ${mb(bytes)} MB, over the ${mb(policy.maxBytes)} MB cap (MLR_HUB_MAX_MB)`;
  }
  return undefined;
}

/** Repositories one run may hold. */
export const MAX_REPOS_PER_RUN = 10;

/**
 * Why one more repository would take the run past its share (MLR_HUB_MAX_MB for all its repositories together,
 * and MAX_REPOS_PER_RUN of them), or undefined. Fetching a repository the run already holds replaces it.
 */
export function runShareRefusal(held: HubFetched[], next: HubRepoInfo & { kind: HubKind }, policy: HubPolicy) {
  const others = held.filter((h) => !(h.kind === next.kind && h.id === next.id));
  if (others.length >= MAX_REPOS_PER_RUN)
    return `the run already holds ${others.length} Hub repositories, the most it may`;
  const total = others.reduce((n, h) => n + h.bytes, 0) + sizeOf(next);
  if (total > policy.maxBytes) {
    return `the run's Hub repositories would hold ${mb(total)} MB, over the ${mb(policy.maxBytes)} MB cap (MLR_HUB_MAX_MB)`;
  }
  return undefined;
}

export const sizeOf = (info: Pick<HubRepoInfo, 'files'>): number => info.files.reduce((n, f) => n + f.size, 0);
const mb = (bytes: number) => Math.ceil(bytes / 1e6);

export interface RankedCandidate extends HubSummary {
  score: number;
  /** Why it ranks where it does, for the agent and the person reviewing. */
  reasons: string[];
  allowed: boolean;
}

const words = (text: string): string[] =>
  text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);

/**
 * The searches to send for a query: the Hub matches a query as one substring of the id, so "tabular classifier"
 * finds nothing named tiny-tabular-classifier; the longest words (three at most) are searched as well.
 */
export function searchTerms(query: string): string[] {
  const longest = [...new Set(words(query))].filter((w) => w.length >= 3).sort((a, b) => b.length - a.length);
  return [...new Set([query.trim(), ...longest.slice(0, 3)])].filter(Boolean);
}

/**
 * Orders search results by fit, licence and popularity: fit counts the query's words found in the id, tags and
 * task; a licence outside the allow-list sinks a candidate to the bottom (it cannot be fetched); popularity is
 * log-scaled so a famous repository does not drown a better fit. Size is checked on inspect, where files are known.
 */
export function rankCandidates(query: string, found: HubSummary[], policy: HubPolicy): RankedCandidate[] {
  const asked = [...new Set(words(query))];
  return found
    .map((c) => {
      const have = new Set([...words(c.id), ...c.tags.flatMap(words), ...words(c.pipelineTag ?? '')]);
      const fit = asked.length === 0 ? 0 : asked.filter((w) => have.has(w)).length / asked.length;
      const licence = c.licence?.toLowerCase();
      const allowed = !c.gated && !c.private && !!licence && policy.licences.includes(licence);
      const popularity = Math.log10(1 + c.downloads) + 0.5 * Math.log10(1 + c.likes);
      const score = (allowed ? 100 : 0) + 10 * fit + popularity;
      const reasons = [
        `fit ${Math.round(fit * 100)}%`,
        allowed ? `licence ${licence}` : c.gated ? 'gated' : `licence ${licence ?? 'none'} not allowed`,
        `${c.downloads} downloads, ${c.likes} likes`,
      ];
      return { ...c, score: Math.round(score * 100) / 100, reasons, allowed };
    })
    .sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
}

/** The Hub's id syntax (org/name or a canonical name), checked before anything reaches a command line. */
export const HUB_ID = /^[A-Za-z0-9][\w.-]{0,95}(\/[\w.-]{1,96})?$/;

export const validHubId = (id: string): boolean => HUB_ID.test(id) && !id.includes('..');

/**
 * A Hub request that failed: `gated` and `missing` are the repository's answer, `refused` the service's policy
 * (licence, size), the others the Hub's state.
 */
export class HubError extends Error {
  constructor(
    readonly kind: 'gated' | 'missing' | 'refused' | 'rate_limited' | 'unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

/** What the service needs from the Hub (implemented over huggingface_hub in clients/hub.ts). */
export interface HubClient {
  search(kind: HubKind, query: string, limit: number): Promise<HubSummary[]>;
  inspect(kind: HubKind, id: string, revision?: string): Promise<HubRepoInfo>;
  /** Downloads the repository at exactly `revision` into the shared cache; returns its snapshot folder. */
  fetch(kind: HubKind, id: string, revision: string): Promise<string>;
  /** The cache folder (HF_HOME's hub/ inside it) experiments read, read-only. */
  readonly home: string;
}

export interface HubView {
  /** HF_HOME for the experiment. */
  home: string;
  /** The cache folders of the run's repositories: the only ones its sandbox mounts. */
  folders: string[];
}

/** The variables that make `datasets` (and huggingface_hub) read a prepared cache at `cacheDir` offline. */
export function offlineDatasetsEnv(cacheDir: string): Record<string, string> {
  return { HF_DATASETS_CACHE: cacheDir, HF_DATASETS_OFFLINE: '1', HF_HUB_OFFLINE: '1' };
}

/** What an experiment's environment gets to read the run's repositories offline. */
export function hubEnv(view: HubView, scratch: string): Record<string, string> {
  return {
    HF_HOME: view.home,
    HF_HUB_OFFLINE: '1',
    HF_DATASETS_OFFLINE: '1',
    TRANSFORMERS_OFFLINE: '1',
    // datasets writes its prepared Arrow files here: the execution's own scratch, as the cache is read-only.
    HF_DATASETS_CACHE: path.join(scratch, 'hf-datasets'),
  };
}
