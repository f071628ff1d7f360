// Every decision waiting on me, the longest-waiting first; the top idea can be approved from here.
import { useEffect, useState } from 'preact/hooks';
import { type ApiError, getJson, postJson } from '../api';
import { onRunStatus } from '../run-status';
import type { Approval } from '../types';
import { ErrorBox, Loading, useAsync } from '../ui';

const waited = (s: number) =>
  s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;

export function InboxPage() {
  const inbox = useAsync(() => getJson<{ items: Approval[] }>('/v1/approvals?limit=200'), []);
  const [error, setError] = useState<ApiError>();
  useEffect(() => onRunStatus(() => inbox.reload()), []);
  const approveTop = async (a: Approval) => {
    setError(undefined);
    try {
      await postJson(`/v1/runs/${a.runId}/approval`, { decision: 'approve' });
      inbox.reload();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  return (
    <>
      <h1>Inbox</h1>
      <ErrorBox error={inbox.error ?? error} />
      <Loading when={inbox.loading && !inbox.data} />
      {inbox.data && inbox.data.items.length === 0 ? <p class="muted">Nothing is waiting on you.</p> : null}
      <ul class="inbox" data-testid="inbox">
        {inbox.data?.items.map((a) => {
          const top = a.ideas.find((i) => i.round === a.round && i.rank === 1) ?? a.ideas[0];
          return (
            <li key={a.runId} class="card">
              <h2>
                <a href={`#/runs/${a.runId}`}>{a.paper.title ?? 'Untitled paper'}</a>
              </h2>
              <p class="muted">
                waiting {waited(a.waitingSeconds)} · round {a.round + 1} · {a.ideas.length} ideas
                {a.campaign ? ` · campaign slot ${a.campaign.slot}` : ''}
              </p>
              {top ? (
                <p>
                  Top idea: <strong>{top.title}</strong>
                </p>
              ) : null}
              <div class="row">
                <a class="button" href={`#/runs/${a.runId}`}>
                  Compare ideas
                </a>
                <button onClick={() => void approveTop(a)}>
                  Approve {a.campaign?.ideaRank ? `idea #${a.campaign.ideaRank}` : 'the top idea'}
                </button>
              </div>
            </li>
          );
        })}
      </ul>
    </>
  );
}
