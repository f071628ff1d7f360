#!/usr/bin/env node
// The `mlr` command: from the TypeScript sources in a checkout (so it is never older than they are), or from
// the compiled `dist/` where there are no sources (the image).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const source = path.join(root, 'src', 'cli', 'mlr.ts');
let entry = path.join(root, 'dist', 'cli', 'mlr.js');
if (fs.existsSync(source)) {
  require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.json') });
  entry = source;
}
require(entry)
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
