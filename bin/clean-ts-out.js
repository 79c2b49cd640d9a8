#!/usr/bin/env node
// Removes tsc's previous output before a build: tsc never deletes the .js of a moved or deleted source, and a
// stale dist/sandbox/state.js would shadow the new dist/sandbox/state/index.js. Deploy output (dist/functions,
// dist/weda-import, dist/cloudbaserc.json) is left alone.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
const { include } = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8'));
for (const dir of include) fs.rmSync(path.join(root, 'dist', dir), { recursive: true, force: true });
