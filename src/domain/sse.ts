// Server-Sent Events as the API sends them (`id`, `event`, one `data` line, a blank line), parsed the same
// way by the console and the CLI, which both read streams with fetch so that they can send a token.

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/** Takes the complete messages off the front of `buffer`; `rest` is the start of one still arriving. */
export function takeSseMessages(buffer: string): { messages: SseMessage[]; rest: string } {
  const messages: SseMessage[] = [];
  let rest = buffer;
  let cut: number;
  while ((cut = rest.indexOf('\n\n')) >= 0) {
    const block = rest.slice(0, cut);
    rest = rest.slice(cut + 2);
    const m: SseMessage = { id: undefined, event: 'message', data: '' };
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) m.id = line.slice(4);
      else if (line.startsWith('event: ')) m.event = line.slice(7);
      else if (line.startsWith('data: ')) m.data += line.slice(6);
    }
    if (m.data) messages.push(m); // comments (keep-alives) carry no data
  }
  return { messages, rest };
}
