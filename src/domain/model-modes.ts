// The ways a model endpoint can be asked for a structured answer, and what a detection records; shared by the
// model client (clients/), its Postgres registry (db/) and the views.

export const STRUCTURED_MODES = ['json_schema', 'json_object', 'tools', 'prompt'] as const;
export type StructuredMode = (typeof STRUCTURED_MODES)[number];

export interface ProbeResult {
  mode: StructuredMode;
  /** 'answered': JSON of the probe's shape; 'unusable': a reply without it; 'refused': an HTTP error. */
  outcome: 'answered' | 'unusable' | 'refused';
  status?: number;
  detail?: string;
}

/** Detections shared between workers; `get` returns only recent ones, so an upgraded server is re-probed. */
export interface ModeRegistry {
  get(endpoint: string, model: string): Promise<StructuredMode | undefined>;
  put(endpoint: string, model: string, mode: StructuredMode, probes: ProbeResult[]): Promise<void>;
}
