import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

/**
 * The rooms, lowest first (docs/architecture.md): a room imports only rooms below it. Rooms of one
 * level do not import each other.
 */
const BRIDGE_LEVELS = [['kube'], ['delivery'], ['announce', 'lifecycle', 'inbound']];
const BRIDGE_TOP = ['bridge/main.ts', 'bridge/config.ts', 'bridge/reconciler.ts'];
const FUNCTION_TOP = ['function/main.ts', 'function/run-function.ts'];
/** The backends' contract (backends/backend.ts) sits with input: it may import only input/model.ts. */
const BACKEND_CONTRACT = 'function/backends/backend.ts';
const BACKEND_PLUGINS = ['function/backends/index.ts', 'function/backends/vcluster.ts'];
const message = 'a room imports only rooms below it (docs/architecture.md)';

/** Each bridge room: nothing from its own level or above. */
function bridgeZones() {
  return BRIDGE_LEVELS.flatMap((level, i) =>
    level.map((room) => ({
      target: `bridge/${room}`,
      from: [
        ...BRIDGE_LEVELS.slice(i)
          .flat()
          .filter((other) => other !== room)
          .map((other) => `bridge/${other}`),
        ...BRIDGE_TOP,
      ],
      message,
    })),
  );
}

const ZONES = [
  { target: 'common', from: ['bridge', 'function', 'catalogue'], message },
  { target: 'bridge', from: ['function', 'catalogue'], message },
  { target: 'function', from: ['bridge', 'catalogue'], message },
  // The catalogue check reads catalogues as the function does, above it; nothing imports it.
  { target: 'catalogue', from: ['bridge'], message },
  ...bridgeZones(),
  {
    target: 'function/codec',
    from: [
      'function/input',
      'function/compose',
      'function/backends',
      'function/server',
      ...FUNCTION_TOP,
    ],
    message,
  },
  {
    target: 'function/input',
    from: ['function/compose', 'function/server', ...BACKEND_PLUGINS, ...FUNCTION_TOP],
    message,
  },
  {
    target: BACKEND_CONTRACT,
    from: ['function/compose', 'function/server', ...BACKEND_PLUGINS, ...FUNCTION_TOP],
    message,
  },
  {
    target: 'function/compose',
    from: ['function/server', ...BACKEND_PLUGINS, ...FUNCTION_TOP],
    message,
  },
  { target: 'function/backends', from: ['function/server', ...FUNCTION_TOP], message },
  { target: 'function/server', from: FUNCTION_TOP, message },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Layers without cycles: a module never reaches itself again through its imports, types
    // included (a type-only cycle is a misplaced type).
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // NodeNext specifiers name the emitted `.js`; the sources are `.ts`.
      'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: ZONES }],
    },
  },
);
