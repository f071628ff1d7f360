import type { Queryable } from './types';

export interface ReportRow<D = Record<string, unknown>> {
  run_id: string;
  data: D;
  markdown: string;
  chart_svg: string;
  created_at: Date;
}

export async function getReport<D>(db: Queryable, runId: string): Promise<ReportRow<D> | undefined> {
  const { rows } = await db.query<ReportRow<D>>('SELECT * FROM reports WHERE run_id = $1', [runId]);
  return rows[0];
}

export async function upsertReport(
  db: Queryable,
  r: { runId: string; data: object; markdown: string; chartSvg: string },
): Promise<void> {
  await db.query(
    `INSERT INTO reports (run_id, data, markdown, chart_svg) VALUES ($1, $2, $3, $4)
     ON CONFLICT (run_id) DO UPDATE SET data = EXCLUDED.data, markdown = EXCLUDED.markdown, chart_svg = EXCLUDED.chart_svg,
       created_at = now()`,
    [r.runId, JSON.stringify(r.data), r.markdown, r.chartSvg],
  );
}
