// Text from the server (logs an experiment printed, titles a model wrote) reaches a terminal through the
// CLI: a control sequence in it could retitle the window, rewrite what was printed, or, in some terminals,
// write to files. Every control character but newline and tab is shown as U+FFFD in text; in JSON, the C1
// controls JSON.stringify leaves raw are escaped, so the output stays valid JSON and inert.
import { Writable } from 'node:stream';

// C0 controls but \t and \n, DEL, and the C1 controls (U+0080–U+009F: CSI is U+009B). A character class:
// linear on any input.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const C1 = /[\u007f-\u009f]/g;

/** `text` with every control character but newline and tab replaced, for a terminal. */
export function terminalText(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(CONTROL, '\uFFFD');
}

/** JSON text with DEL and the C1 controls escaped (JSON.stringify escapes only C0). */
export function terminalJson(json: string): string {
  return json.replace(C1, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A stream that writes what it is given, made safe for a terminal, to `out`. */
export function terminalSafe(out: NodeJS.WritableStream, json: boolean): NodeJS.WritableStream {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _enc, done) {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      out.write(json ? terminalJson(text) : terminalText(text), done);
    },
  });
}
