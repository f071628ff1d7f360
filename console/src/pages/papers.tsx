// Papers: upload by drag and drop (or the file picker), the list, and a paper's extracted sections with a
// form that starts a run on it.
import { useState } from 'preact/hooks';
import { type ApiError, getJson, postJson, upload } from '../api';
import { go } from '../router';
import type { Page, Paper, PaperSummary, Run } from '../types';
import { ago, ErrorBox, Loading, Section, useAsync } from '../ui';

function DropZone({ onUploaded }: { onUploaded: (p: PaperSummary) => void }) {
  const [over, setOver] = useState(false);
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const send = async (files: FileList | null | undefined) => {
    const file = files?.[0];
    if (!file) return;
    setBusy(file.name);
    setError(undefined);
    try {
      onUploaded(await upload<PaperSummary>(file));
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <div>
      <div
        class={`drop ${over ? 'over' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          void send(e.dataTransfer?.files);
        }}
      >
        <p>{busy ? `Uploading ${busy}…` : 'Drop a paper here (PDF, Markdown or text)'}</p>
        <label class="button">
          Choose a file
          <input
            type="file"
            accept=".pdf,.md,.markdown,.txt,application/pdf,text/markdown,text/plain"
            class="visually-hidden"
            onChange={(e) => void send((e.target as HTMLInputElement).files)}
          />
        </label>
      </div>
      <ErrorBox error={error} />
    </div>
  );
}

export function PapersPage() {
  const papers = useAsync(() => getJson<Page<PaperSummary>>('/v1/papers?limit=100'), []);
  return (
    <>
      <h1>Papers</h1>
      <DropZone onUploaded={(p) => go(`#/papers/${p.id}`)} />
      <ErrorBox error={papers.error} />
      <Loading when={papers.loading && !papers.data} />
      <table class="list">
        <thead>
          <tr>
            <th>Title</th>
            <th>Format</th>
            <th>Size</th>
            <th>Added</th>
          </tr>
        </thead>
        <tbody>
          {papers.data?.items.map((p) => (
            <tr key={p.id}>
              <td>
                <a href={`#/papers/${p.id}`}>{p.title}</a>
              </td>
              <td>{p.format}</td>
              <td>{Math.ceil(p.bytes / 1024)} KiB</td>
              <td>{ago(p.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {papers.data && papers.data.items.length === 0 ? <p class="muted">No papers yet.</p> : null}
    </>
  );
}

function StartRun({ paperId }: { paperId: string }) {
  const [mode, setMode] = useState('supervised');
  const [ideaCount, setIdeaCount] = useState(3);
  const [until, setUntil] = useState('succeeded');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const start = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const run = await postJson<Run>('/v1/runs', { paperId, mode, ideaCount, until });
      go(`#/runs/${run.id}`);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="row" onSubmit={start} aria-label="Start a run">
      <label>
        Mode{' '}
        <select value={mode} onChange={(e) => setMode((e.target as HTMLSelectElement).value)}>
          <option value="supervised">supervised (I approve)</option>
          <option value="autonomous">autonomous</option>
        </select>
      </label>
      <label>
        Ideas{' '}
        <input
          type="number"
          min={1}
          max={10}
          value={ideaCount}
          onInput={(e) => setIdeaCount(Number((e.target as HTMLInputElement).value))}
        />
      </label>
      <label>
        Stop after{' '}
        <select value={until} onChange={(e) => setUntil((e.target as HTMLSelectElement).value)}>
          <option value="succeeded">the validated report</option>
          <option value="measured">the measured candidate</option>
          <option value="approved">approval</option>
        </select>
      </label>
      <button type="submit" disabled={busy}>
        Start run
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

export function PaperPage({ id }: { id: string }) {
  const paper = useAsync(() => getJson<Paper>(`/v1/papers/${id}`), [id]);
  const p = paper.data;
  return (
    <>
      <p>
        <a href="#/papers">← Papers</a>
      </p>
      <ErrorBox error={paper.error} />
      <Loading when={paper.loading && !p} />
      {p ? (
        <>
          <h1>{p.title}</h1>
          <p class="muted">
            {p.format} · {Math.ceil(p.bytes / 1024)} KiB · {p.sections.length} sections extracted
          </p>
          <Section title="Start a run">
            <StartRun paperId={p.id} />
          </Section>
          <Section title="Extracted sections">
            {p.sections.map((s, i) => (
              <details key={i} open={i < 2} class="paper-section">
                <summary>
                  {s.heading || s.kind}{' '}
                  <span class="muted">
                    ({s.kind}, {s.chars} characters)
                  </span>
                </summary>
                <p class="prose">{s.text.length > 4000 ? `${s.text.slice(0, 4000)}…` : s.text}</p>
              </details>
            ))}
          </Section>
        </>
      ) : null}
    </>
  );
}
