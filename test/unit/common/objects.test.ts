import { describe, expect, it } from 'vitest';
import { kindAndName } from '../../../common/objects.js';

describe('an object as logs name it', () => {
  const table: { name: string; input: unknown; want: string }[] = [
    {
      name: 'cluster-scoped',
      input: { kind: 'XEnvironment', metadata: { name: 'dev-x7k2p' } },
      want: 'XEnvironment dev-x7k2p',
    },
    {
      name: 'namespaced',
      input: { kind: 'Environment', metadata: { namespace: 'team-a', name: 'dev' } },
      want: 'Environment team-a/dev',
    },
    {
      name: 'an empty namespace is cluster-scoped',
      input: { kind: 'XEnvironment', metadata: { namespace: '', name: 'dev' } },
      want: 'XEnvironment dev',
    },
    {
      name: 'what is missing or of the wrong type shown as ?',
      input: { kind: 7, metadata: { name: ['dev'] } },
      want: '? ?',
    },
    { name: 'not an object', input: undefined, want: '? ?' },
  ];
  it.each(table)('$name', ({ input, want }) => {
    expect(kindAndName(input)).toBe(want);
  });
});
