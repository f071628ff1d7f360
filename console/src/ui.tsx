// Small pieces every page uses: loading data with its error, the API's errors as it states them, status
// badges, and relative times.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, getText } from './api';

export interface Async<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `deps` change and on reload(); keeps the last data while reloading (no flicker). */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (err: unknown) =>
        live &&
        setState((s) => ({
          data: s.data,
          loading: false,
          error: err instanceof ApiError ? err : new ApiError(0, 'ClientError', String(err)),
        })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function ErrorBox({ error }: { error: ApiError | undefined }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <strong>{error.code}</strong>
      {error.status ? <span class="muted"> ({error.status})</span> : null}: {error.message}
    </div>
  );
}

const TONE: Record<string, string> = {
  succeeded: 'ok',
  approved: 'ok',
  completed: 'ok',
  supported: 'ok',
  failed: 'bad',
  rejected: 'bad',
  cancelled: 'bad',
  expired: 'bad',
  not_supported: 'bad',
  awaiting_approval: 'wait',
  awaiting_budget: 'wait',
  awaiting_slot: 'wait',
  paused: 'wait',
  inconclusive: 'wait',
};

export function Badge({ value }: { value: string }) {
  return <span class={`badge ${TONE[value] ?? 'live'}`}>{value.replace(/_/g, ' ')}</span>;
}

export function ago(iso: string): string {
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export const money = (usd: number) => `$${usd.toFixed(usd < 1 ? 4 : 2)}`;

export function Section(props: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      {props.children}
    </section>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? (
    <p class="muted" aria-live="polite">
      Loading…
    </p>
  ) : null;
}

/** An SVG chart from the API shown as an <img> of a blob: it runs no script in the SVG and needs no token. */
export function SvgChart({ path, alt, version }: { path: string; alt: string; version: number }) {
  const svg = useAsync(() => getText(path, 'image/svg+xml'), [path, version]);
  const [url, setUrl] = useState<string>();
  useEffect(() => {
    if (!svg.data) return;
    const u = URL.createObjectURL(new Blob([svg.data], { type: 'image/svg+xml' }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [svg.data]);
  return url ? <img class="chart" src={url} alt={alt} /> : null;
}
