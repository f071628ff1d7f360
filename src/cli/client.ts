// The CLI's HTTP client: the bearer token on every call, the API's errors turned into CliErrors with their
// exit codes, and event streams followed with fetch, resumed with Last-Event-ID after a dropped connection.
import fs from 'node:fs';
import path from 'node:path';
import { readApiError } from '../domain/api-error';
import { takeSseMessages } from '../domain/sse';
import { CliError, EXIT, exitCodeFor } from './errors';
import type { Settings } from './settings';

export interface StreamEvent {
  id: number;
  type: string;
  data: Record<string, unknown>;
}

export class ApiClient {
  constructor(private readonly settings: Settings) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    if (!this.settings.token) {
      throw new CliError(
        EXIT.auth,
        'NoToken',
        'no token: pass --token-file, set MLR_TOKEN, or add "token" to the config file',
      );
    }
    return { authorization: `Bearer ${this.settings.token}`, ...extra };
  }

  private async send(pathname: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.settings.url}${pathname}`, init);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new CliError(EXIT.unavailable, 'Unreachable', `cannot reach ${this.settings.url} (${why})`);
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  async get<T>(pathname: string): Promise<T> {
    return (await (await this.send(pathname, { headers: this.headers({ accept: 'application/json' }) })).json()) as T;
  }

  async text(pathname: string, accept = 'text/plain'): Promise<string> {
    return (await this.send(pathname, { headers: this.headers({ accept }) })).text();
  }

  async post<T>(pathname: string, body: unknown, extra: Record<string, string> = {}): Promise<T> {
    const res = await this.send(pathname, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json', accept: 'application/json', ...extra }),
      body: JSON.stringify(body),
    });
    return (await res.json()) as T;
  }

  async upload<T>(file: string): Promise<T> {
    let buf: Buffer;
    try {
      buf = await fs.promises.readFile(file);
    } catch (err) {
      throw new CliError(EXIT.usage, 'NoSuchFile', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`);
    }
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(buf)]), path.basename(file));
    const res = await this.send('/v1/papers', { method: 'POST', headers: this.headers(), body: form });
    return (await res.json()) as T;
  }

  /**
   * Follows an event stream until the server ends it (its subject finished). A dropped connection or a
   * 429/5xx is retried with the last event id, at most `retries` times in a row.
   */
  async follow(pathname: string, onEvent: (e: StreamEvent) => void | Promise<void>, retries = 10): Promise<void> {
    let last: number | undefined;
    let failures = 0;
    for (;;) {
      try {
        const res = await this.send(pathname, {
          headers: this.headers({ accept: 'text/event-stream', ...(last ? { 'last-event-id': String(last) } : {}) }),
        });
        const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          const { messages, rest } = takeSseMessages(buf + value);
          buf = rest;
          for (const m of messages) {
            failures = 0;
            if (m.id) last = Number(m.id);
            await onEvent({
              id: Number(m.id ?? 0),
              type: m.event,
              data: JSON.parse(m.data) as Record<string, unknown>,
            });
          }
        }
      } catch (err) {
        const retryable = !(err instanceof CliError) || err.exitCode === EXIT.unavailable || err.status === 429;
        if (!retryable || ++failures > retries) throw err;
        await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** failures, 15_000)));
      }
    }
  }
}

async function errorOf(res: Response): Promise<CliError> {
  const e = await readApiError(res);
  return new CliError(exitCodeFor(e.status), e.code, e.message, e.status);
}
