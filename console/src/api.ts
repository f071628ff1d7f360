// Every call the console makes goes through here: the bearer token the person signed in with, errors as the
// API states them ({error: {code, message}}), and event streams read with fetch (EventSource cannot send a
// token) that resume from the last event id after a dropped connection.

import { readApiError } from '../../src/domain/api-error';
import { takeSseMessages } from '../../src/domain/sse';

const KEY = 'mlr.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const auth = {
  token: (): string | null => sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY),
  signIn(token: string, remember: boolean) {
    (remember ? localStorage : sessionStorage).setItem(KEY, token);
  },
  signOut() {
    sessionStorage.removeItem(KEY);
    localStorage.removeItem(KEY);
    window.dispatchEvent(new Event('mlr:signed-out'));
  },
};

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = auth.token();
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
}

async function failure(res: Response): Promise<ApiError> {
  const e = await readApiError(res);
  if (res.status === 401) auth.signOut();
  return new ApiError(e.status, e.code, e.message);
}

async function call(path: string, init: RequestInit & { accept?: string } = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, {
      ...init,
      headers: headers({ accept: init.accept ?? 'application/json', ...(init.headers as Record<string, string>) }),
    });
  } catch (err) {
    throw new ApiError(0, 'Unreachable', `the server did not answer (${(err as Error).message})`);
  }
  if (!res.ok) throw await failure(res);
  return res;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await call(path)).json()) as T;
}

export async function getText(path: string, accept = 'text/plain'): Promise<string> {
  return (await call(path, { accept })).text();
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const res = await call(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.json()) as T;
}

export async function upload<T>(file: File): Promise<T> {
  const form = new FormData();
  form.append('file', file, file.name);
  return (await (await call('/v1/papers', { method: 'POST', body: form })).json()) as T;
}

export interface StreamEvent {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

/**
 * Follows an SSE stream until `signal` aborts or the server ends it (a finished run's stream ends). A dropped
 * connection is retried with the last event id, so nothing is missed or repeated.
 */
export async function follow(
  path: string,
  onEvent: (e: StreamEvent) => void,
  signal: AbortSignal,
  onState: (state: 'live' | 'reconnecting' | 'ended') => void = () => undefined,
  /** A stream that never finishes (every run's status): an end means the server went away; reconnect. */
  forever = false,
): Promise<void> {
  let last: string | undefined;
  while (!signal.aborted) {
    try {
      const res = await fetch(path, {
        headers: headers({ accept: 'text/event-stream', ...(last ? { 'last-event-id': last } : {}) }),
        signal,
      });
      if (!res.ok) {
        const err = await failure(res);
        if (res.status !== 429 && res.status < 500) throw err;
      } else if (res.body) {
        onState('live');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const { messages, rest } = takeSseMessages(buf + value);
          buf = rest;
          for (const m of messages) {
            if (m.id) last = m.id;
            onEvent({ id: m.id ?? '', type: m.event, data: JSON.parse(m.data) as Record<string, unknown> });
          }
        }
        if (!forever) {
          onState('ended');
          return; // the server ended the stream: its subject is finished
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError) {
        onState('ended');
        throw err;
      }
    }
    onState('reconnecting');
    await new Promise((r) => setTimeout(r, 2000));
  }
}
