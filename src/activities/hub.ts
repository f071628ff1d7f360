// The ExperimentAgent's access to the Hub: search (ranked), inspect and fetch, each fetch pinned to the commit it
// inspected, checked against the licence allow-list and the size cap, and recorded with the run. What a run
// fetched is put back in the worker's cache before each execution, so any worker can carry the run.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import { hubReposForRun, recordHubRepo } from '../db/hub-repos';
import type { Queryable } from '../db/types';
import {
  HubError,
  rankCandidates,
  refusal,
  runShareRefusal,
  searchTerms,
  sizeOf,
  type HubClient,
  type HubFetched,
  type HubKind,
  type HubPolicy,
  type HubSummary,
  type HubView,
} from '../domain/hub';

/** Where huggingface_hub keeps a repository in its cache (HF_HOME/hub/{models|datasets}--org--name). */
export const cacheFolder = (home: string, kind: HubKind, id: string): string =>
  path.join(home, 'hub', `${kind}s--${id.replace(/\//g, '--')}`);

const policyOf = (config: Config): HubPolicy => ({
  licences: config.MLR_HUB_LICENSES,
  maxBytes: config.MLR_HUB_MAX_MB * 1e6,
});

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

export function createHubAccess(deps: { db: Queryable; hub: HubClient; config: Config }) {
  const { db, hub } = deps;
  const policy = policyOf(deps.config);

  async function search(kind: HubKind, query: string): Promise<string> {
    const seen = new Map<string, HubSummary>();
    for (const term of searchTerms(query)) {
      for (const c of await hub.search(kind, term, 30)) if (!seen.has(c.id)) seen.set(c.id, c);
      if (seen.size >= 30) break;
    }
    const found = rankCandidates(query, [...seen.values()], policy).slice(0, 10);
    if (found.length === 0) return `No ${kind}s on the Hub match "${query}".`;
    return [
      `${kind === 'model' ? 'Models' : 'Datasets'} matching "${query}", best first:`,
      ...found.map(
        (c, i) =>
          `${i + 1}. ${c.id} (${c.reasons.join('; ')})${c.allowed ? '' : ' — cannot be fetched'}` +
          (c.pipelineTag ? ` [${c.pipelineTag}]` : ''),
      ),
      'Inspect one with hub_inspect, fetch it with hub_fetch.',
    ].join('\n');
  }

  async function inspect(kind: HubKind, id: string): Promise<string> {
    const info = await hub.inspect(kind, id);
    const why = refusal(info, policy);
    const files = info.files.slice(0, 50).map((f) => `  ${f.path} (${f.size} bytes)`);
    return [
      `${kind} ${info.id} at commit ${info.sha}; licence ${info.licence ?? 'none'}; ${mb(sizeOf(info))} MB in ` +
        `${info.files.length} files; ${info.downloads} downloads, ${info.likes} likes.`,
      ...files,
      ...(info.files.length > 50 ? [`  … and ${info.files.length - 50} more`] : []),
      why ? `It cannot be fetched: ${why}.` : 'It can be fetched with hub_fetch.',
    ].join('\n');
  }

  /** Fetches a repository at the commit the Hub lists now, after the checks; records it with the run. */
  async function fetch(runId: string, kind: HubKind, id: string): Promise<HubFetched> {
    const info = await hub.inspect(kind, id);
    const why = refusal(info, policy) ?? runShareRefusal(await hubReposForRun(db, runId), { ...info, kind }, policy);
    if (why) throw new HubError(info.gated ? 'gated' : 'refused', `not fetched: ${why}`);
    await hub.fetch(kind, info.id, info.sha);
    const fetched: HubFetched = {
      kind,
      id: info.id,
      revision: info.sha,
      files: info.files.map((f) => f.path),
      bytes: sizeOf(info),
      licence: info.licence?.toLowerCase() ?? null,
    };
    await recordHubRepo(db, runId, fetched);
    return fetched;
  }

  /**
   * The run's repositories in this worker's cache (each fetched again at its pinned commit if this machine lacks
   * it), or undefined when it fetched none. The experiment's HF_HOME is a view of its own: `refs/main` of each
   * repository names the run's pinned commit, and `snapshots` and `blobs` link to the shared cache, so two runs
   * that pinned different commits of one repository each load their own with a plain `from_pretrained(id)`.
   */
  async function view(runId: string): Promise<HubView | undefined> {
    const repos = await hubReposForRun(db, runId);
    if (repos.length === 0) return undefined;
    const home = path.join(hub.home, 'views', runId);
    for (const r of repos) {
      const shared = cacheFolder(hub.home, r.kind, r.id);
      if (!fs.existsSync(path.join(shared, 'snapshots', r.revision))) await hub.fetch(r.kind, r.id, r.revision);
      const own = cacheFolder(home, r.kind, r.id);
      fs.mkdirSync(path.join(own, 'refs'), { recursive: true });
      fs.writeFileSync(path.join(own, 'refs', 'main'), r.revision);
      for (const sub of ['snapshots', 'blobs']) {
        const link = path.join(own, sub);
        if (!fs.lstatSync(link, { throwIfNoEntry: false })) fs.symlinkSync(path.join(shared, sub), link);
      }
    }
    return { home, folders: [home, ...repos.map((r) => cacheFolder(hub.home, r.kind, r.id))] };
  }

  return { search, inspect, fetch, view };
}

export type HubAccess = ReturnType<typeof createHubAccess>;
