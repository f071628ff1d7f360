// The production image installs no optional packages, so pdf.js runs there without @napi-rs/canvas: text
// extraction must not need it.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../support/paths';
import { makePdf } from '../support/pdf';

it('extracts a PDF text without @napi-rs/canvas, as in the production image', () => {
  const run = spawnSync(
    process.execPath,
    ['-r', path.join(ROOT, 'test', 'support', 'no-canvas.cjs'), path.join(ROOT, 'scripts', 'pdf-text.mjs')],
    { input: makePdf([['Hello canvas-free world', 'Second line'], ['Page two']], 'T'), encoding: 'utf8' },
  );
  // The hook really hid the package: pdf.js says it could not load it.
  expect(run.stderr).toContain('Cannot load "@napi-rs/canvas"');
  expect(run.status).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual({
    title: 'T',
    pages: 2,
    text: 'Hello canvas-free world\nSecond line\n\nPage two',
  });
});
