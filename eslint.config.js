// Type-checked lint for every TypeScript source; layer rules keep libraries
// from importing apps and apps from importing each other.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const APPS = ['sentry', 'injector', 'operator', 'placement', 'scheduler'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.tsdapr/**', 'e2e/**/*.go', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test() and describe() return promises the runner awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  // Libraries never import apps.
  {
    files: ['packages/{runtime,grpc,kube,pki}/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: APPS.map((app) => `@tsdapr/${app}`) }],
    },
  },
  // Apps never import each other.
  ...APPS.map((app) => ({
    files: [`packages/${app}/src/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', { patterns: APPS.filter((other) => other !== app).map((other) => `@tsdapr/${other}`) }],
    },
  })),
  // Tests and command-line tools may print, and tests may use non-null assertions freely.
  {
    files: ['**/*.test.ts', 'e2e/**/*.ts', 'bench/**/*.ts', '**/*-cli.ts', '**/cli/**/*.ts', '**/main.ts'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  // Table-driven tests give every case an async builder, awaiting or not.
  {
    files: ['**/*.test.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
);
