import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests that start API servers, Crossplane and the rest (test/controlplane/): they run after the
 * others and one file at a time, since each keeps both cores busy while it boots.
 */
const CONTROL_PLANE_TESTS = ['test/e2e/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...CONTROL_PLANE_TESTS],
        },
      },
      {
        extends: true,
        test: {
          name: 'control-plane',
          include: CONTROL_PLANE_TESTS,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
