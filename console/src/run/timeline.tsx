// The experiment as it happened: each agent step (action, arguments, observation) and each execution
// (status, metrics, its log and its code's diff against the starter, fetched when opened).
import { useState } from 'preact/hooks';
import { type ApiError, getText } from '../api';
import type { Experiment, Step } from '../types';
import { Badge, ErrorBox } from '../ui';

function Lazy({ label, path }: { label: string; path: string }) {
  const [text, setText] = useState<string>();
  const [error, setError] = useState<ApiError>();
  return (
    <details
      onToggle={(e) => {
        if ((e.target as HTMLDetailsElement).open && text === undefined)
          getText(path).then(setText, (err: unknown) => setError(err as ApiError));
      }}
    >
      <summary>{label}</summary>
      <ErrorBox error={error} />
      {text !== undefined ? <pre class={label === 'Diff' ? 'diff' : 'log'}>{text || '(empty)'}</pre> : null}
    </details>
  );
}

function args(a: Record<string, unknown>): string {
  const text = JSON.stringify(a, null, 2);
  return text.length > 3000 ? `${text.slice(0, 3000)}…` : text;
}

export function Steps({ steps }: { steps: Step[] }) {
  if (steps.length === 0) return <p class="muted">The agent has not taken a step yet.</p>;
  return (
    <ol class="timeline" data-testid="steps">
      {steps.map((s) => (
        <li key={s.step} class={s.error ? 'failed' : ''}>
          <div class="step-head">
            <span class="step-no">{s.step}</span>
            <code class="tool">{s.tool}</code>
            {s.experimentStatus ? <Badge value={s.experimentStatus} /> : null}
            <time class="muted" dateTime={s.createdAt}>
              {new Date(s.createdAt).toLocaleTimeString()}
            </time>
          </div>
          <details>
            <summary>Arguments</summary>
            <pre>{args(s.args)}</pre>
          </details>
          {s.observation !== null ? (
            <details open={s.observation.length < 400}>
              <summary>Observation{s.observationTruncated ? ' (shortened)' : ''}</summary>
              <pre>{s.observation}</pre>
            </details>
          ) : null}
          {s.error ? <p class="error">{s.error}</p> : null}
        </li>
      ))}
    </ol>
  );
}

const fmt = (v: unknown): string =>
  typeof v === 'number'
    ? Number.isInteger(v)
      ? String(v)
      : v.toFixed(4)
    : typeof v === 'object' && v !== null
      ? JSON.stringify(v).slice(0, 120)
      : String(v);

export function Executions({ runId, experiments }: { runId: string; experiments: Experiment[] }) {
  if (experiments.length === 0) return <p class="muted">No executions yet.</p>;
  return (
    <table class="list executions" data-testid="executions">
      <thead>
        <tr>
          <th>Role</th>
          <th>Seed</th>
          <th>Status</th>
          <th>Metrics</th>
          <th>Time</th>
          <th>Log and diff</th>
        </tr>
      </thead>
      <tbody>
        {experiments.map((e) => (
          <tr key={e.id}>
            <td>
              {e.role} <span class="muted">#{e.attempt}</span>
            </td>
            <td>{e.seed ?? '–'}</td>
            <td>
              <Badge value={e.status} />
              {e.exitCode !== null && e.exitCode !== 0 ? <span class="muted"> exit {e.exitCode}</span> : null}
              {e.error ? <div class="muted small">{e.error.slice(0, 200)}</div> : null}
            </td>
            <td>
              {e.metrics
                ? Object.entries(e.metrics)
                    .slice(0, 4)
                    .map(([k, v]) => (
                      <div key={k}>
                        {k}: <strong>{fmt(v)}</strong>
                      </div>
                    ))
                : '–'}
            </td>
            <td>{e.durationMs !== null ? `${(e.durationMs / 1000).toFixed(1)} s` : '–'}</td>
            <td>
              <Lazy label="Log" path={`/v1/runs/${runId}/experiments/${e.id}/log`} />
              <Lazy label="Diff" path={`/v1/runs/${runId}/experiments/${e.id}/diff`} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
