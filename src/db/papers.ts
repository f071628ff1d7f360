import { randomUUID } from 'node:crypto';
import type { Queryable } from './types';
import type { Section } from '../papers/sections';
import type { OwnerScope } from '../domain/user';

export interface PaperRow {
  id: string;
  owner: string;
  content_hash: string;
  title: string;
  format: 'markdown' | 'text' | 'pdf';
  content: string;
  sections: Section[];
  bytes: number;
  created_at: Date;
}

export interface NewPaper {
  owner: string;
  contentHash: string;
  title: string;
  format: PaperRow['format'];
  content: string;
  sections: Section[];
  bytes: number;
}

/** Inserts a paper, or returns the owner's paper with the same content hash (de-duplication per owner). */
export async function upsertPaper(db: Queryable, p: NewPaper): Promise<{ paper: PaperRow; created: boolean }> {
  const inserted = await db.query<PaperRow>(
    `INSERT INTO papers (id, owner, content_hash, title, format, content, sections, bytes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (owner, content_hash) DO NOTHING RETURNING *`,
    [randomUUID(), p.owner, p.contentHash, p.title, p.format, p.content, JSON.stringify(p.sections), p.bytes],
  );
  if (inserted.rows[0]) return { paper: inserted.rows[0], created: true };
  const existing = await db.query<PaperRow>('SELECT * FROM papers WHERE owner = $1 AND content_hash = $2', [
    p.owner,
    p.contentHash,
  ]);
  return { paper: existing.rows[0]!, created: false };
}

/** A paper by id; with an owner scope, another owner's paper is not found. */
export async function getPaper(db: Queryable, id: string, scope: OwnerScope = null): Promise<PaperRow | undefined> {
  const { rows } = await db.query<PaperRow>('SELECT * FROM papers WHERE id = $1 AND ($2::text IS NULL OR owner = $2)', [
    id,
    scope,
  ]);
  return rows[0];
}

export type PaperSummary = Omit<PaperRow, 'content' | 'sections'>;

export async function listPapers(
  db: Queryable,
  scope: OwnerScope,
  limit: number,
  before?: { createdAt: string; id: string },
): Promise<PaperSummary[]> {
  const { rows } = await db.query<PaperSummary>(
    `SELECT id, owner, content_hash, title, format, bytes, created_at FROM papers
     WHERE ($4::text IS NULL OR owner = $4)
       AND ($1::timestamptz IS NULL OR (created_at, id) < ($1::timestamptz, $2::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $3`,
    [before?.createdAt ?? null, before?.id ?? null, limit, scope],
  );
  return rows;
}

/** The papers among `ids` that the scope may see (a campaign's papers, checked in one query). */
export async function visiblePaperIds(db: Queryable, ids: string[], scope: OwnerScope): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM papers WHERE id = ANY($1::uuid[]) AND ($2::text IS NULL OR owner = $2)',
    [ids, scope],
  );
  return new Set(rows.map((r) => r.id));
}
