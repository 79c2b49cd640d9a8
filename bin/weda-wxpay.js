#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to .build/ (tsconfig.json outDir) by `npm ci` (prepare) or
// `npm run build:ts`. dist/ is the deploy folder `weda-wxpay build` writes.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', '.build', 'scripts', 'cli.js');
if (!fs.existsSync(entry)) {
  console.error('weda-wxpay: the compiled CLI (.build/) is missing; run `npm run build:ts` (npm ci does it for you).');
  process.exit(1);
}
require(entry).main(process.argv).catch((err) => {
  // A failure says what went wrong in one line; the stack is for us, on request.
  const message = err && err.message ? err.message : String(err);
  console.error(`weda-wxpay: ${message}`);
  if (process.env.WEDA_WXPAY_DEBUG && err && err.stack) console.error(err.stack);
  process.exit(1);
});
