// A run's live working copy, which lives in Postgres and the object store: opened as the newest committed
// step left it (a worker with no copy, or a copy that differs, rebuilds it), and committed after every step.
// A worker's disk only caches it: delete a worker's data directory at any moment and no run notices beyond
// a rebuild.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { hasStepsWithoutState, headWorkingState, insertWorkingState } from '../db/working-states';
import { openTree } from '../experiments/executor/local';
import { Workspace } from '../experiments/workspace';
import { carried, manifestOf, restoreWorkspace, stateHash, workingState } from '../experiments/working-state';
import type { PreparedTask } from '../tasks/library';
import type { ActivityDeps } from './deps';

export function createLiveWorkspaces(deps: Pick<ActivityDeps, 'db' | 'store' | 'config'>) {
  const dataDir = deps.config.MLR_DATA_DIR;
  const cap = deps.config.MLR_WORKSPACE_CARRY_MB * 1024 * 1024;
  const where = (runId: string) => ({
    root: path.join(dataDir, 'workspaces', runId),
    harness: path.join(dataDir, 'harness', runId),
  });
  const starterFiles = (p: PreparedTask) => workingState(new Workspace(p.envDir, p.readOnlyPatterns), cap, false).files;

  /** The run's working copy as its newest committed step left it (none yet: the starter's). */
  async function open(runId: string, prepared: PreparedTask): Promise<Workspace> {
    const { root, harness } = where(runId);
    const head = await headWorkingState(deps.db, runId);
    if (fs.existsSync(path.join(harness, 'made')) && fs.existsSync(root)) {
      await openTree(root);
      const ws = new Workspace(root, prepared.readOnlyPatterns, harness);
      // A run an earlier version began keeps the copy on this disk, as it did then: its steps committed none.
      if (!head && (await hasStepsWithoutState(deps.db, runId))) return ws;
      const want = head?.stateHash ?? stateHash(manifestOf({ files: starterFiles(prepared), backups: {} }));
      const local = workingState(ws, cap);
      // What a commit removes (huge files, links) is never in a committed copy: a copy that has one differs.
      if (local.hash === want && local.tooLarge.length === 0 && local.notRegular.length === 0) return ws;
    }
    if (!head) {
      fs.rmSync(path.join(harness, 'made'), { force: true });
      return Workspace.create(root, prepared.envDir, prepared.readOnlyPatterns, harness);
    }
    return restoreWorkspace(root, harness, prepared.envDir, prepared.readOnlyPatterns, head, (sha) =>
      deps.store.get(deps.store.uri(`blobs/${sha}`)),
    );
  }

  /**
   * Stores the copy's state: what differs from the starter goes to the store (once per content), the manifest
   * to Postgres. Returns its hash, to be recorded with the step, and a note for the agent naming what was not
   * carried (and so was removed, here as on every worker).
   */
  async function commit(
    runId: string,
    ws: Workspace,
    prepared: PreparedTask,
  ): Promise<{ hash: string; note?: string }> {
    await openTree(ws.root);
    const state = workingState(ws, cap);
    const starter = starterFiles(prepared);
    const { kept, upload, left } = carried(state, starter, cap);
    const dropped = [...state.tooLarge.map((f) => f.path), ...left];
    for (const file of [...dropped, ...state.notRegular]) fs.rmSync(path.join(ws.root, file), { force: true });
    for (const name of Object.keys(state.backups))
      if (!(name in kept.backups)) fs.rmSync(path.join(ws.backupDir(), name), { force: true });
    // Contents an earlier commit of this run stored are not sent again (those equal to the starter never are).
    const head = await headWorkingState(deps.db, runId);
    const stored = new Set([
      ...Object.entries(head?.files ?? {})
        .filter(([file, sha]) => starter[file]?.sha !== sha)
        .map(([, sha]) => sha),
      ...Object.values(head?.backups ?? {}),
    ]);
    for (const [sha, from] of upload) {
      if (stored.has(sha)) continue;
      const abs = from.kind === 'file' ? path.join(ws.root, from.name) : path.join(ws.backupDir(), from.name);
      const data = await fs.promises.readFile(abs);
      // Read again after hashing: a file that changed in between is not stored under the old hash.
      if (createHash('sha256').update(data).digest('hex') !== sha) throw new Error(`${from.name} changed while stored`);
      await deps.store.put(`blobs/${sha}`, data);
    }
    const hash = stateHash(kept);
    await insertWorkingState(deps.db, runId, hash, kept);
    const capMb = deps.config.MLR_WORKSPACE_CARRY_MB;
    const notes = [
      ...(dropped.length > 0
        ? [`not carried to the next step (over the ${capMb} MB a working copy carries): ${dropped.join(', ')}`]
        : []),
      ...(state.notRegular.length > 0 ? [`not carried (not regular files): ${state.notRegular.join(', ')}`] : []),
    ];
    return { hash, ...(notes.length > 0 ? { note: `[Removed from the workspace, ${notes.join('; ')}.]` } : {}) };
  }

  return { open, commit };
}
