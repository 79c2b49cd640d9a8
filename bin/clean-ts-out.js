#!/usr/bin/env node
// Removes tsc's previous output before a build: tsc never deletes the .js of a moved or deleted source, and a
// stale .build/sandbox/state.js would shadow the new .build/sandbox/state/index.js. The folder holds only tsc's
// output (tsconfig.json outDir; bench/tsconfig.json writes there too), never the deploy folder dist/.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const root = path.join(__dirname, '..');
const { compilerOptions } = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8'));
const outDir = path.resolve(root, compilerOptions.outDir);
const rel = path.relative(root, outDir);
if (!rel || rel.startsWith('..') || path.isAbsolute(rel) || rel === 'dist') throw new Error(`clean-ts-out: refusing to remove ${outDir} (tsconfig.json outDir)`);
fs.rmSync(outDir, { recursive: true, force: true });
