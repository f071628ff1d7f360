// The Hub repositories each run fetched (see domain/hub.ts).
import type { HubFetched, HubKind } from '../domain/hub';
import { pgJson, type Queryable } from './types';

/** Records a fetch; fetching the same repository again pins the newer commit. */
export async function recordHubRepo(db: Queryable, runId: string, f: HubFetched): Promise<void> {
  await db.query(
    `INSERT INTO hub_repos (run_id, kind, repo_id, revision, files, bytes, licence) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (run_id, kind, repo_id) DO UPDATE
       SET revision = $4, files = $5, bytes = $6, licence = $7, fetched_at = now()`,
    [runId, f.kind, f.id, f.revision, pgJson(f.files), f.bytes, f.licence],
  );
}

export async function hubReposForRun(db: Queryable, runId: string): Promise<HubFetched[]> {
  return (await hubReposForRuns(db, [runId])).get(runId)!;
}

/** The repositories of a page of runs, in one query (the run views' batch). */
export async function hubReposForRuns(db: Queryable, runIds: string[]): Promise<Map<string, HubFetched[]>> {
  const out = new Map<string, HubFetched[]>(runIds.map((id) => [id, []]));
  if (runIds.length === 0) return out;
  const { rows } = await db.query<{
    run_id: string;
    kind: HubKind;
    repo_id: string;
    revision: string;
    files: string[];
    bytes: string;
    licence: string | null;
  }>(
    `SELECT run_id, kind, repo_id, revision, files, bytes, licence FROM hub_repos
      WHERE run_id = ANY($1::uuid[]) ORDER BY kind, repo_id`,
    [runIds],
  );
  for (const r of rows) {
    out.get(r.run_id)?.push({
      kind: r.kind,
      id: r.repo_id,
      revision: r.revision,
      files: r.files,
      bytes: Number(r.bytes),
      licence: r.licence,
    });
  }
  return out;
}
