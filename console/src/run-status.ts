// Status events of every run of mine, re-broadcast to whichever page wants them: the frame (app.tsx) publishes
// what its one stream receives, pages subscribe. Its own module, so pages never import the frame.
import type { StreamEvent } from './api';

const bus = new EventTarget();

export function onRunStatus(handler: (e: StreamEvent) => void): () => void {
  const listener = (ev: Event) => handler((ev as CustomEvent<StreamEvent>).detail);
  bus.addEventListener('status', listener);
  return () => bus.removeEventListener('status', listener);
}

export function publishRunStatus(e: StreamEvent): void {
  bus.dispatchEvent(new CustomEvent('status', { detail: e }));
}
