// Every run, newest first, with filters; statuses change in place as the stream reports them.
import { useEffect, useState } from 'preact/hooks';
import { RUN_STATUSES } from '../../../src/domain/run';
import { getJson } from '../api';
import { onRunStatus } from '../run-status';
import { go } from '../router';
import type { Page, Run } from '../types';
import { ago, Badge, ErrorBox, Loading, money, useAsync } from '../ui';

export function RunsPage({ query }: { query: URLSearchParams }) {
  const status = query.get('status') ?? '';
  const campaignId = query.get('campaignId') ?? '';
  const params = new URLSearchParams({ limit: '100' });
  if (status) params.set('status', status);
  if (campaignId) params.set('campaignId', campaignId);
  const runs = useAsync(() => getJson<Page<Run>>(`/v1/runs?${params}`), [status, campaignId]);
  const [live, setLive] = useState<Record<string, string>>({});
  useEffect(
    () =>
      onRunStatus((e) => {
        const runId = String(e.data.runId);
        const next = String(e.data.status);
        if (runs.data?.items.some((r) => r.id === runId)) setLive((m) => ({ ...m, [runId]: next }));
        else runs.reload(); // a run this page has not seen yet
      }),
    [runs.data],
  );
  const filter = (key: string, value: string) => {
    const q = new URLSearchParams(query);
    if (value) q.set(key, value);
    else q.delete(key);
    go(`#/runs?${q}`);
  };
  return (
    <>
      <h1>Runs</h1>
      <div class="row" role="search">
        <label>
          Status{' '}
          <select
            value={status}
            onChange={(e) => filter('status', (e.target as HTMLSelectElement).value)}
            aria-label="Filter by status"
          >
            <option value="">any</option>
            {RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </label>
        {campaignId ? (
          <button class="link" onClick={() => filter('campaignId', '')}>
            campaign {campaignId.slice(0, 8)} ✕
          </button>
        ) : null}
      </div>
      <ErrorBox error={runs.error} />
      <Loading when={runs.loading && !runs.data} />
      <table class="list" data-testid="runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Status</th>
            <th>Mode</th>
            <th>Spend</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {runs.data?.items.map((r) => (
            <tr key={r.id} data-run={r.id}>
              <td>
                <a href={`#/runs/${r.id}`}>{r.id.slice(0, 8)}</a>
                {r.campaign ? <span class="muted"> · campaign #{r.campaign.slot}</span> : null}
              </td>
              <td>
                <Badge value={live[r.id] ?? r.status} />
                {r.paused ? <Badge value="paused" /> : null}
              </td>
              <td>{r.mode}</td>
              <td>{money(r.spend.usd)}</td>
              <td>{ago(r.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {runs.data && runs.data.items.length === 0 ? (
        <p class="muted">
          No runs{status ? ` ${status.replace(/_/g, ' ')}` : ''}. Start one from a <a href="#/papers">paper</a>.
        </p>
      ) : null}
    </>
  );
}
