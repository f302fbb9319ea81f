#!/usr/bin/env node
// Installs node modules when they are missing or older than package-lock.json, so `npm start` and
// `npm test` work from a fresh clone. Plain Node, no dependencies: it runs before they exist.
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const lock = path.join(root, 'package-lock.json');
const installed = path.join(root, 'node_modules', '.package-lock.json');

const stale = !fs.existsSync(installed) || (fs.existsSync(lock) && fs.statSync(lock).mtimeMs > fs.statSync(installed).mtimeMs);
if (stale) {
  // `npm install` rather than `npm ci`: the lock file cannot list every platform's optional binary
  // (some, e.g. @swc/core's darwin builds, are missing from the registry this project installs from),
  // and `npm ci` refuses such a lock while `npm install` installs exactly the locked versions.
  console.error('Installing node modules (npm install)...');
  execSync('npm install --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}
