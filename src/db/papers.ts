import { randomUUID } from 'node:crypto';
import type { Queryable } from './types';
import type { Section } from '../papers/sections';

export interface PaperRow {
  id: string;
  content_hash: string;
  title: string;
  format: 'markdown' | 'text' | 'pdf';
  content: string;
  sections: Section[];
  bytes: number;
  created_at: Date;
}

export interface NewPaper {
  contentHash: string;
  title: string;
  format: PaperRow['format'];
  content: string;
  sections: Section[];
  bytes: number;
}

/** Inserts a paper, or returns the one with the same content hash. */
export async function upsertPaper(db: Queryable, p: NewPaper): Promise<{ paper: PaperRow; created: boolean }> {
  const inserted = await db.query<PaperRow>(
    `INSERT INTO papers (id, content_hash, title, format, content, sections, bytes)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (content_hash) DO NOTHING RETURNING *`,
    [randomUUID(), p.contentHash, p.title, p.format, p.content, JSON.stringify(p.sections), p.bytes],
  );
  if (inserted.rows[0]) return { paper: inserted.rows[0], created: true };
  const existing = await db.query<PaperRow>('SELECT * FROM papers WHERE content_hash = $1', [p.contentHash]);
  return { paper: existing.rows[0]!, created: false };
}

export async function getPaper(db: Queryable, id: string): Promise<PaperRow | undefined> {
  const { rows } = await db.query<PaperRow>('SELECT * FROM papers WHERE id = $1', [id]);
  return rows[0];
}

export type PaperSummary = Omit<PaperRow, 'content' | 'sections'>;

export async function listPapers(db: Queryable, limit: number, before?: { createdAt: string; id: string }): Promise<PaperSummary[]> {
  const { rows } = await db.query<PaperSummary>(
    `SELECT id, content_hash, title, format, bytes, created_at FROM papers
     WHERE ($1::timestamptz IS NULL OR (created_at, id) < ($1::timestamptz, $2::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $3`,
    [before?.createdAt ?? null, before?.id ?? null, limit],
  );
  return rows;
}
