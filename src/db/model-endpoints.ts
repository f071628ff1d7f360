// Detected structured modes per model endpoint (see clients/mode-detection.ts): one row per endpoint and model.
import type { ModeRegistry, ProbeResult, StructuredMode } from '../domain/model-modes';
import { pgJson, type Queryable } from './types';

/** A registry over Postgres; detections older than `maxAgeHours` are ignored, so a changed server is re-probed. */
export function createModeRegistry(db: Queryable, maxAgeHours = 24): ModeRegistry {
  return {
    async get(endpoint, model) {
      const { rows } = await db.query<{ mode: StructuredMode }>(
        `SELECT mode FROM model_endpoints
          WHERE endpoint = $1 AND model = $2 AND detected_at > now() - make_interval(hours => $3)`,
        [endpoint, model, maxAgeHours],
      );
      return rows[0]?.mode;
    },
    async put(endpoint, model, mode, probes: ProbeResult[]) {
      await db.query(
        `INSERT INTO model_endpoints (endpoint, model, mode, probes) VALUES ($1, $2, $3, $4)
         ON CONFLICT (endpoint, model) DO UPDATE SET mode = $3, probes = $4, detected_at = now()`,
        [endpoint, model, mode, pgJson(probes)],
      );
    },
  };
}

export interface ModelEndpointRow {
  endpoint: string;
  model: string;
  mode: StructuredMode;
  probes: ProbeResult[];
  detected_at: Date;
}

export async function listModelEndpoints(db: Queryable): Promise<ModelEndpointRow[]> {
  const { rows } = await db.query<ModelEndpointRow>(
    'SELECT endpoint, model, mode, probes, detected_at FROM model_endpoints ORDER BY endpoint, model',
  );
  return rows;
}
