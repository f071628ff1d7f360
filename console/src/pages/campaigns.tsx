// Campaigns: their progress, spend against budget, the leaderboard of validated effects and its chart.
import { useEffect, useState } from 'preact/hooks';
import { type ApiError, follow, getJson, postJson } from '../api';
import type { Campaign, Page, Spend } from '../types';
import { ago, Badge, ErrorBox, Loading, money, Section, SvgChart, useAsync } from '../ui';
import { BenchmarkResults } from './benchmark';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function SpendLine({ spend, budget }: { spend: Spend; budget: Record<string, number> | null }) {
  const of = (k: string) => (budget?.[k] !== undefined ? ` of ${k === 'usd' ? money(budget[k]!) : budget[k]}` : '');
  return (
    <span>
      {money(spend.usd)}
      {of('usd')} · {spend.tokens} tokens{of('tokens')} · {spend.gpuHours.toFixed(2)} GPU-h{of('gpuHours')} ·{' '}
      {spend.cpuHours.toFixed(2)} CPU-h{of('cpuHours')}
    </span>
  );
}

export function CampaignsPage() {
  const list = useAsync(() => getJson<Page<Campaign>>('/v1/campaigns?limit=100'), []);
  return (
    <>
      <h1>Campaigns</h1>
      <ErrorBox error={list.error} />
      <Loading when={list.loading && !list.data} />
      {list.data && list.data.items.length === 0 ? (
        <p class="muted">No campaigns. Start one with POST /v1/campaigns (see the README).</p>
      ) : null}
      <table class="list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Status</th>
            <th>Runs</th>
            <th>Spend</th>
            <th>Started</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((c) => (
            <tr key={c.id}>
              <td>
                <a href={`#/campaigns/${c.id}`}>{c.name}</a>
                {c.kind === 'benchmark' ? <span class="muted"> · benchmark</span> : null}
              </td>
              <td>
                <Badge value={c.status} />
              </td>
              <td>
                {c.runs.created} / {c.runs.total}
              </td>
              <td>
                <SpendLine spend={c.spend} budget={c.budget} />
              </td>
              <td>{ago(c.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function CampaignPage({ id }: { id: string }) {
  const [version, setVersion] = useState(0);
  const campaign = useAsync(() => getJson<Campaign>(`/v1/campaigns/${id}`), [id, version]);
  const [error, setError] = useState<ApiError>();
  useEffect(() => {
    const ctrl = new AbortController();
    let timer: number | undefined;
    void follow(
      `/v1/campaigns/${id}/events`,
      () => {
        window.clearTimeout(timer);
        timer = window.setTimeout(() => setVersion((v) => v + 1), 1000);
      },
      ctrl.signal,
    ).catch(() => undefined);
    return () => {
      ctrl.abort();
      window.clearTimeout(timer);
    };
  }, [id]);
  const act = async (action: string) => {
    setError(undefined);
    try {
      await postJson(`/v1/campaigns/${id}/${action}`, {});
      setVersion((v) => v + 1);
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const c = campaign.data;
  return (
    <>
      <p>
        <a href="#/campaigns">← Campaigns</a>
      </p>
      <ErrorBox error={campaign.error ?? error} />
      <Loading when={campaign.loading && !c} />
      {c ? (
        <>
          <h1>
            {c.name} <Badge value={c.status} />
          </h1>
          <p class="muted">
            {c.kind === 'benchmark'
              ? `benchmark · ${plural(c.spec.taskIds?.length ?? 0, 'task')} × ${plural(c.spec.runsPerPaper, 'run')}` +
                ` · profile ${c.spec.profile}`
              : `${plural(c.spec.paperIds.length, 'paper')} × ${plural(c.spec.runsPerPaper, 'run')} · ${c.spec.mode}`}{' '}
            · at most {c.spec.maxConcurrentRuns} at once · <SpendLine spend={c.spend} budget={c.budget} />
          </p>
          <div class="row">
            <button onClick={() => void act('pause')}>Pause</button>
            <button onClick={() => void act('resume')}>Resume</button>
            <button
              class="danger"
              onClick={() => confirm('Cancel the campaign and all its runs?') && void act('cancel')}
            >
              Cancel
            </button>
            <a class="button" href={`#/runs?campaignId=${c.id}`}>
              Its runs
            </a>
          </div>
          <Section title="Runs by status">
            <p>
              {Object.entries(c.runs.byStatus).map(([s, n]) => (
                <span key={s} class="tally">
                  <Badge value={s} /> {n}
                </span>
              ))}{' '}
              <span class="muted">
                ({c.runs.created} of {c.runs.total} created)
              </span>
            </p>
          </Section>
          {c.kind === 'benchmark' ? <BenchmarkResults id={c.id} version={version} /> : null}
          <Section title={c.kind === 'benchmark' ? 'Runs' : 'Leaderboard'}>
            <table class="list" data-testid="leaderboard">
              <thead>
                <tr>
                  <th>{c.kind === 'benchmark' ? 'Task' : 'Paper'}</th>
                  <th>Idea</th>
                  <th>Verdict</th>
                  <th>Effect (95% CI)</th>
                  <th>p</th>
                  <th>Seeds</th>
                  <th>Cost</th>
                </tr>
              </thead>
              <tbody>
                {(c.results ?? []).map((r) => (
                  <tr key={r.runId}>
                    <td>
                      <a href={`#/runs/${r.runId}`}>{r.paper.title}</a>
                    </td>
                    <td>{r.idea?.title ?? '–'}</td>
                    <td>{r.verdict ? <Badge value={r.verdict} /> : <Badge value={r.status} />}</td>
                    <td>
                      {r.effect
                        ? `${r.effect.estimate.toFixed(4)} [${r.effect.ci95[0].toFixed(4)}, ${r.effect.ci95[1].toFixed(4)}]`
                        : '–'}
                    </td>
                    <td>{r.pValue !== null ? r.pValue.toFixed(3) : '–'}</td>
                    <td>{r.seeds ?? '–'}</td>
                    <td>{money(r.cost.usd)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <SvgChart
              path={`/v1/campaigns/${c.id}/report?format=svg`}
              alt="Forest plot of each run's validated effect"
              version={version}
            />
          </Section>
        </>
      ) : null}
    </>
  );
}
