import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      // Stripping terminal colour codes and XML-invalid characters needs control characters.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'child_process',
              message: 'Use node:child_process execFile/spawn with argument arrays.',
            },
          ],
        },
      ],
    },
  },
  {
    // process.env is read in one place per package (docs/developing.md): the config modules,
    // the composition roots, the child-process env builder, and what runs in the recipe's Jest
    // (its context reader and the gate that holds Jest until the custom tier releases it).
    files: ['packages/*/src/**/*.ts'],
    ignores: [
      'packages/*/src/**/*.test.ts',
      'packages/*/src/config.ts',
      'packages/*/src/main.ts',
      'packages/harness-core/src/adapters/process/host-env.ts',
      'packages/harness-core/src/testing.ts',
      'packages/harness-core/src/tiers/jest-gate.ts',
    ],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message:
            'Read the environment only in the package config module (src/config.ts) and pass values in.',
        },
      ],
    },
  },
  {
    // One door to Docker (docs/developing.md): the raw argv method `DockerCli.docker(args)` is
    // called only inside the Docker adapter; everything else uses DockerPort's typed methods.
    files: ['packages/*/src/**/*.ts'],
    ignores: ['packages/*/src/**/*.test.ts', 'packages/harness-core/src/adapters/docker/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.type='MemberExpression'][callee.property.name='docker']",
          message:
            'Raw docker argv belongs in packages/harness-core/src/adapters/docker/; add a typed DockerPort method instead.',
        },
      ],
    },
  },
);
