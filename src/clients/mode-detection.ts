// Which structured mode an endpoint supports, found once per endpoint and model and shared through a registry
// (Postgres in the service), so that N workers probe once, not N times, and every call after uses the answer.
// The probes try the modes in order (json_schema, json_object with a schema, a named tool, a plain prompt) with a
// tiny schema and 48 tokens each; the first that returns JSON of the probe's shape wins.
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { ErrorType } from '../errors';
import { STRUCTURED_MODES, type ModeRegistry, type ProbeResult, type StructuredMode } from '../domain/model-modes';
import { PROBE_SCHEMA, probeAnswered, structuredFields } from './structured-modes';

const PROBE_MESSAGES = [
  { role: 'user' as const, content: 'Is water wet? Answer as JSON: {"ok": true} or {"ok": false}.' },
];

/** An error that says the endpoint is down (retry later) rather than that it refuses this kind of request. */
function isOutage(err: unknown): boolean {
  if (err instanceof OpenAI.APIConnectionError) return true;
  if (err instanceof OpenAI.APIError) {
    const status = err.status ?? 0;
    return status === 429 || status === 408 || status >= 502 || status === 0;
  }
  return false;
}

function outage(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: ErrorType.LlmUnavailable });
}

/**
 * Probes the modes in order. An outage (network, 429, 502–504) stops the detection with a retryable failure and
 * records nothing; so does a refusal of every mode, which a server that is up does not give (the plain prompt is
 * what every Chat Completions server accepts).
 */
export async function detectMode(
  client: OpenAI,
  model: string,
  signal?: AbortSignal,
): Promise<{ mode: StructuredMode; probes: ProbeResult[] }> {
  const probes: ProbeResult[] = [];
  for (const mode of STRUCTURED_MODES) {
    try {
      const fields = structuredFields(mode, PROBE_SCHEMA, PROBE_MESSAGES);
      const res = await client.chat.completions.create(
        { model, max_tokens: 48, ...fields } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
        { signal },
      );
      const answered = probeAnswered(mode, res.choices[0]?.message);
      probes.push({ mode, outcome: answered ? 'answered' : 'unusable' });
      // The plain prompt is the floor: whatever it answers, the caller validates and re-asks.
      if (answered || mode === 'prompt') return { mode, probes };
    } catch (err) {
      if (err instanceof OpenAI.APIUserAbortError) throw err;
      if (isOutage(err))
        throw outage(`model endpoint unavailable while detecting its modes: ${(err as Error).message}`);
      const status = err instanceof OpenAI.APIError ? err.status : undefined;
      probes.push({ mode, outcome: 'refused', status, detail: (err as Error).message.slice(0, 300) });
    }
  }
  throw outage(
    `model endpoint refused every kind of request: ${probes.map((p) => `${p.mode} ${p.status}`).join(', ')}`,
  );
}

/**
 * The mode for each model: the setting when it is fixed; otherwise this process's earlier answer, the registry's,
 * or a detection (recorded). Concurrent first calls share one detection; a failed one is forgotten.
 */
export function createModeResolver(opts: {
  client: OpenAI;
  setting: 'auto' | StructuredMode;
  endpoint: string;
  registry?: ModeRegistry;
  detect?: typeof detectMode;
}): (model: string, signal?: AbortSignal) => Promise<StructuredMode> {
  const { client, setting, endpoint, registry } = opts;
  const detect = opts.detect ?? detectMode;
  const known = new Map<string, Promise<StructuredMode>>();
  return (model, signal) => {
    if (setting !== 'auto') return Promise.resolve(setting);
    let pending = known.get(model);
    if (!pending) {
      pending = (async () => {
        const recorded = await registry?.get(endpoint, model);
        if (recorded) return recorded;
        const found = await detect(client, model, signal);
        await registry?.put(endpoint, model, found.mode, found.probes);
        return found.mode;
      })();
      known.set(model, pending);
      pending.catch(() => known.delete(model));
    }
    return pending;
  };
}
