// ESLint (flat config). Type-aware rules guard "never crash Node-RED": a floating promise or a
// promise handed to a callback that ignores it is an unhandled rejection waiting to happen.
// src/ and test/ are TypeScript (checked with their tsconfig); the editor scripts inside
// nodes/*.html are linted as browser JavaScript: scripts/lint-editor.js copies each script block
// to .lint-editor/<node>.js (other lines blanked, so line numbers match) and lints those files.
import tseslint from 'typescript-eslint';

const EDITOR_GLOBALS = Object.fromEntries(
    ['RED', '$', 'jQuery', 'window', 'document', 'console', 'setTimeout', 'clearTimeout', 'navigator', 'location', 'Event'].map((name) => [name, 'readonly']),
);

const typeAware = {
    '@typescript-eslint/no-floating-promises': 'error',
    '@typescript-eslint/no-misused-promises': 'error',
    '@typescript-eslint/await-thenable': 'error',
    '@typescript-eslint/no-for-in-array': 'error',
};

export default tseslint.config(
    { ignores: ['nodes/**/*.js', 'node_modules/**', '.demo/**', '.compat/**', 'coverage/**', 'test/artifacts/**', 'bench/results/**'] },
    {
        files: ['src/**/*.ts', 'test/**/*.ts'],
        extends: [tseslint.configs.recommended],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        rules: {
            ...typeAware,
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
            // `const node = this` is how every Node-RED node keeps its node for callbacks.
            '@typescript-eslint/no-this-alias': 'off',
        },
    },
    {
        // Tests read msgs and fakes of any shape; their checks are the assertions.
        files: ['test/**/*.ts'],
        linterOptions: { reportUnusedDisableDirectives: 'off' },
        rules: {
            '@typescript-eslint/no-explicit-any': 'off',
            '@typescript-eslint/no-non-null-assertion': 'off',
            '@typescript-eslint/no-require-imports': 'off',
        },
    },
    {
        files: ['.lint-editor/*.js'],
        languageOptions: { ecmaVersion: 2019, sourceType: 'script', globals: EDITOR_GLOBALS },
        rules: {
            'no-undef': 'error',
            'no-unused-vars': ['error', { args: 'none' }],
            'no-redeclare': 'error',
            'no-dupe-keys': 'error',
            'no-unreachable': 'error',
            eqeqeq: ['error', 'smart'],
        },
    },
);
