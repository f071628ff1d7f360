// The one way a route reaches a run or paper: by id, within the caller's scope. Another owner's row is
// a 404, exactly like a missing one, so ids reveal nothing.
import type { PaperRow } from '../db/papers';
import { getPaper } from '../db/papers';
import { getRun, type RunRow } from '../db/runs';
import type { Queryable } from '../db/types';
import { scopeOf, type Principal } from '../domain/user';
import { HttpError } from '../errors';

export async function loadRunOr404(db: Queryable, id: string, principal: Principal): Promise<RunRow> {
  const run = await getRun(db, id, scopeOf(principal));
  if (!run) throw new HttpError(404, 'NotFound', `run ${id} not found`);
  return run;
}

export async function loadPaperOr404(db: Queryable, id: string, principal: Principal): Promise<PaperRow> {
  const paper = await getPaper(db, id, scopeOf(principal));
  if (!paper) throw new HttpError(404, 'NotFound', `paper ${id} not found`);
  return paper;
}
