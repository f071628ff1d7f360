// One run: what the paper is about, the ideas and the decision, the experiment as it happens, and the
// validated report. The page follows the run's event stream and refreshes what an event changed.
import { useEffect, useRef, useState } from 'preact/hooks';
import { type ApiError, follow, getJson, getText, postJson } from '../api';
import { Ideas } from '../run/ideas';
import { Executions, Steps } from '../run/timeline';
import type { Run, Step } from '../types';
import { ago, Badge, ErrorBox, Loading, money, Section, useAsync } from '../ui';

const FINAL = ['succeeded', 'rejected', 'cancelled', 'failed'];

function useSteps(runId: string, version: number): Step[] {
  const [steps, setSteps] = useState<Step[]>([]);
  const last = useRef(-1);
  useEffect(() => {
    setSteps([]);
    last.current = -1;
  }, [runId]);
  useEffect(() => {
    let live = true;
    void (async () => {
      // The newest step is asked again: its observation may have been written since.
      let after = Math.max(-1, last.current - 1);
      for (;;) {
        const page = await getJson<{ items: Step[]; nextAfter: number | null }>(
          `/v1/runs/${runId}/steps?after=${after}&limit=200`,
        );
        if (!live) return;
        if (page.items.length > 0) {
          last.current = Math.max(last.current, page.items[page.items.length - 1]!.step);
          setSteps((old) => {
            const byStep = new Map(old.map((s) => [s.step, s]));
            for (const s of page.items) byStep.set(s.step, s);
            return [...byStep.values()].sort((a, b) => a.step - b.step);
          });
        }
        if (page.nextAfter === null) return;
        after = page.nextAfter;
      }
    })().catch(() => undefined);
    return () => {
      live = false;
    };
  }, [runId, version]);
  return steps;
}

function Controls({ run, onChanged }: { run: Run; onChanged: () => void }) {
  const [message, setMessage] = useState('');
  const [error, setError] = useState<ApiError>();
  const [note, setNote] = useState<string>();
  const act = async (path: string, body: unknown, done: string) => {
    setError(undefined);
    setNote(undefined);
    try {
      await postJson(`/v1/runs/${run.id}/${path}`, body);
      setNote(done);
      onChanged();
    } catch (err) {
      setError(err as ApiError);
    }
  };
  if (FINAL.includes(run.status)) return null;
  return (
    <div class="controls">
      <div class="row">
        {run.paused ? (
          <button onClick={() => void act('resume', {}, 'Resumed.')}>Resume</button>
        ) : (
          <button onClick={() => void act('pause', {}, 'Paused: the run stops at its next step.')}>Pause</button>
        )}
        <button
          class="danger"
          onClick={() => {
            if (confirm('Cancel this run? Its running executions are stopped.')) void act('cancel', {}, 'Cancelling…');
          }}
        >
          Cancel run
        </button>
      </div>
      <form
        class="row"
        aria-label="Feedback to the agent"
        onSubmit={(e) => {
          e.preventDefault();
          void act('feedback', { message }, 'Sent: the agent reads it at its next step.').then(() => setMessage(''));
        }}
      >
        <label class="grow">
          Feedback to the agent{' '}
          <input
            type="text"
            maxLength={20000}
            value={message}
            onInput={(e) => setMessage((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" disabled={!message.trim()}>
          Send
        </button>
      </form>
      {note ? (
        <p class="note" role="status">
          {note}
        </p>
      ) : null}
      <ErrorBox error={error} />
    </div>
  );
}

function Analysis({ run }: { run: Run }) {
  const t = run.taskDefinition;
  return (
    <>
      <Section title="Task definition">
        {t ? (
          <dl>
            <dt>Problem</dt>
            <dd>{t.problem}</dd>
            <dt>Inputs</dt>
            <dd>{t.inputs}</dd>
            <dt>Outputs</dt>
            <dd>{t.outputs}</dd>
            <dt>Datasets</dt>
            <dd>{t.datasets.join(', ') || '–'}</dd>
            <dt>Metrics</dt>
            <dd>{t.metrics.join(', ') || '–'}</dd>
          </dl>
        ) : (
          <p class="muted">The paper is being analysed.</p>
        )}
      </Section>
      <div class="two">
        <Section title="Research gaps">
          {run.gaps?.length ? (
            <ul>
              {run.gaps.map((g, i) => (
                <li key={i}>
                  {g.gap} <span class="muted">— {g.evidence}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">None yet.</p>
          )}
        </Section>
        <Section title="Related work">
          {run.retrieval?.status === 'unavailable' ? (
            <p class="muted">Retrieval was unavailable ({run.retrieval.reason ?? 'no reason given'}).</p>
          ) : null}
          {run.relatedWork?.length ? (
            <ul>
              {run.relatedWork.map((p) => (
                <li key={p.paperId}>
                  {p.url ? (
                    <a href={p.url} target="_blank" rel="noopener noreferrer">
                      {p.title}
                    </a>
                  ) : (
                    p.title
                  )}
                  {p.year ? <span class="muted"> ({p.year})</span> : null}
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">None yet.</p>
          )}
        </Section>
      </div>
    </>
  );
}

function Report({ runId }: { runId: string }) {
  const html = useAsync(() => getText(`/v1/runs/${runId}/report`, 'text/html'), [runId]);
  return (
    <>
      <ErrorBox error={html.error} />
      {html.data ? (
        // No scripts: the report is shown, never run. Same origin only so that the frame can take its
        // content's height (a frame that cannot run scripts cannot use that access).
        <iframe
          class="report"
          title="Validated report"
          sandbox="allow-same-origin"
          srcDoc={html.data}
          data-testid="report"
          onLoad={(e) => {
            const frame = e.target as HTMLIFrameElement;
            const height = frame.contentDocument?.documentElement.scrollHeight;
            if (height) frame.style.height = `${height + 24}px`;
          }}
        />
      ) : null}
    </>
  );
}

export function RunPage({ id }: { id: string }) {
  const [version, setVersion] = useState(0);
  const [stream, setStream] = useState<string>('connecting');
  const run = useAsync(() => getJson<Run>(`/v1/runs/${id}`), [id, version]);
  const steps = useSteps(id, version);
  useEffect(() => {
    const ctrl = new AbortController();
    let timer: number | undefined;
    void follow(
      `/v1/runs/${id}/events`,
      () => {
        window.clearTimeout(timer);
        timer = window.setTimeout(() => setVersion((v) => v + 1), 300);
      },
      ctrl.signal,
      (state) => {
        setStream(state);
        if (state === 'ended') setVersion((v) => v + 1);
      },
    ).catch(() => setStream('ended'));
    return () => {
      ctrl.abort();
      window.clearTimeout(timer);
    };
  }, [id]);
  const r = run.data;
  const refresh = () => setVersion((v) => v + 1);
  return (
    <>
      <p>
        <a href="#/runs">← Runs</a>
      </p>
      <ErrorBox error={run.error} />
      <Loading when={run.loading && !r} />
      {r ? (
        <>
          <h1>
            Run {r.id.slice(0, 8)} <Badge value={r.status} />
            {r.paused ? <Badge value="paused" /> : null}
          </h1>
          <p class="muted" data-testid="run-meta">
            <a href={`#/papers/${r.paperId}`}>paper</a> · {r.mode} · until {r.until} · started {ago(r.createdAt)} ·
            spent {money(r.spend.usd)}, {r.spend.tokens} tokens ·{' '}
            {r.campaign ? <a href={`#/campaigns/${r.campaign.id}`}>campaign slot {r.campaign.slot}</a> : null}{' '}
            <span class={`stream ${stream}`} aria-live="polite">
              {stream === 'live' ? '● live' : stream === 'ended' ? 'finished' : stream}
            </span>
          </p>
          {r.error ? <div class="error">{r.error}</div> : null}
          <Controls run={r} onChanged={refresh} />
          <Analysis run={r} />
          <Section title="Ideas" id="ideas">
            <Ideas run={r} onChanged={refresh} />
          </Section>
          <Section title="Experiment timeline" id="timeline">
            {r.result ? (
              <p data-testid="result">
                {r.result.metric}: baseline <strong>{r.result.baseline.toFixed(4)}</strong> → candidate{' '}
                <strong>{r.result.value.toFixed(4)}</strong> ({r.result.direction === 'max' ? 'higher' : 'lower'} is
                better; {r.result.improvement >= 0 ? '+' : ''}
                {r.result.improvement.toFixed(4)})
              </p>
            ) : null}
            <h3>Agent steps</h3>
            <Steps steps={steps} />
            <h3>Executions</h3>
            <Executions runId={r.id} experiments={r.experiments} />
          </Section>
          <Section title="Validated report" id="report">
            {r.status === 'succeeded' && r.validation ? (
              <Report runId={r.id} />
            ) : (
              <p class="muted">The report is written when validation ends.</p>
            )}
          </Section>
        </>
      ) : null}
    </>
  );
}
