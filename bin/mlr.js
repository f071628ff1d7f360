#!/usr/bin/env node
// The `mlr` command: the compiled CLI when `npm run build` has made one, else the TypeScript sources.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const built = path.join(root, 'dist', 'cli', 'mlr.js');
if (!fs.existsSync(built)) {
  require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.json') });
}
const { main } = require(fs.existsSync(built) ? built : path.join(root, 'src', 'cli', 'mlr.ts'));
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
