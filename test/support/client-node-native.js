// Jest cannot load @kubernetes/client-node (ESM only) into its CommonJS module registry. Node 24 can
// require() ES modules natively, so under jest the package is loaded by Node's own require, outside the
// registry (nothing here mocks it: it is the real client, talking to the real API server). It is named by
// its file: jest's moduleNameMapper also answers Node's resolution of the bare name, which would be this file.
'use strict';
const path = require('node:path');
const { createRequire } = process.getBuiltinModule('node:module');
const root = path.resolve(__dirname, '..', '..', 'node_modules', '@kubernetes', 'client-node');
const main = require(path.join(root, 'package.json')).main;
module.exports = createRequire(__filename)(path.join(root, main));
