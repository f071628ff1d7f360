// What the CLI prints comes from the server, and some of it from experiment code or a model.
import { PassThrough } from 'node:stream';
import { terminalJson, terminalSafe, terminalText } from '../../src/cli/terminal';

describe('terminal output', () => {
  it('shows every control character but newline and tab as U+FFFD', () => {
    const hostile = 'ok\t1\r\n\u001b]0;pwned\u0007\u001b[2J\u009b31mred\u0000end\n';
    expect(terminalText(hostile)).toBe('ok\t1\n\uFFFD]0;pwned\uFFFD\uFFFD[2J\uFFFD31mred\uFFFDend\n');
    expect(terminalText(hostile)).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it('keeps JSON valid and equal in value while escaping the C1 controls JSON.stringify leaves raw', () => {
    const value = { log: 'a\u009b31mb\u001bc\u007f' };
    const text = terminalJson(JSON.stringify(value));
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('makes a stream safe as it writes, text or JSON', async () => {
    const out = new PassThrough();
    const safe = terminalSafe(out, false);
    await new Promise<void>((r) => safe.write('\u001b[31mred\n', () => r()));
    expect(out.read().toString()).toBe('\uFFFD[31mred\n');
  });
});
