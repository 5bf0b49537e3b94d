#!/usr/bin/env node
// Entry of the `repopot` CLI: runs the bundled build (made by `npm install` / `npm run build`).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const bundled = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(bundled)) {
  process.stderr.write(`repopot: ${bundled} is missing; run "npm run build" in ${path.dirname(__dirname)}\n`);
  process.exit(1);
}
require(bundled);
