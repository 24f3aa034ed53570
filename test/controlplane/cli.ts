/**
 * npm run cluster:up / cluster:down: the e2e's stack (stack.ts) for a developer to poke at with
 * kubectl: a node running Crossplane from its chart, the providers and the function with its
 * bridge sidecar as pods, the product installed from its packages, the chart repository with the
 * real vcluster chart; plus the e2e's test Compositions (the shipped ones with a catalogue of the
 * local charts) and an example claim that selects one. `up` leaves every process running and
 * prints how to use it; `down` stops them and clears the node.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { offerTestCatalogue } from '../support/test-charts.js';
import { terminate } from './controlplane.js';
import { clearNodeState } from './node.js';
import { E2E_CROSSPLANE_ARGS, startStack } from './stack.js';
import { binaryPath } from './tools.js';

const STATE = '.tools/cluster/state.json';

/** What `down` needs: the processes to stop and the folders to remove. */
interface State {
  pids: number[];
  dirs: string[];
  kubeconfig: string;
}

async function up(): Promise<void> {
  if (existsSync(STATE)) {
    const { kubeconfig } = JSON.parse(await readFile(STATE, 'utf8')) as State;
    console.log(`cluster: already up: export KUBECONFIG=${kubeconfig}`);
    return;
  }
  const stack = await startStack({
    detached: true,
    log: (line) => console.log(`cluster: ${line}`),
    crossplaneArgs: E2E_CROSSPLANE_ARGS,
  });
  try {
    await offerTestCatalogue(stack);
  } catch (error) {
    await stack.stop({ keepLogs: true });
    throw error;
  }
  const claim = join(stack.dir, 'claim.yaml');
  await writeFile(
    claim,
    stringify({
      apiVersion: 'platform.xenvironment.io/v1alpha1',
      kind: 'Environment',
      metadata: { name: 'dev', namespace: 'team-a' },
      spec: {
        compositionRef: { name: 'xenvironments.platform.xenvironment.io-test' },
        tools: [{ name: 'widgets-crd' }, { name: 'settings' }, { name: 'web' }],
        writeConnectionSecretToRef: { name: 'dev-kubeconfig' },
      },
    }),
  );
  const state: State = {
    pids: stack.processes().map(({ pid }) => pid),
    dirs: [stack.dir, stack.host.dir],
    kubeconfig: stack.host.adminKubeconfig,
  };
  await mkdir('.tools/cluster', { recursive: true });
  await writeFile(STATE, JSON.stringify(state));
  console.log(`
cluster: up. Crossplane at ${stack.host.server}, logs in ${stack.dir}
  export KUBECONFIG=${stack.host.adminKubeconfig} PATH=${join(binaryPath('kubectl'), '..')}:$PATH
  kubectl get pods -A                                     # Crossplane, the providers, the function
  kubectl get configurations,providers,functions          # installed from ${stack.registry.host}
  kubectl apply -f ${claim}   # an Environment with tools widgets-crd, settings, web
  kubectl get environment -n team-a dev -w
  kubectl get objects.kubernetes.crossplane.io,releases.helm.crossplane.io,usages.apiextensions.crossplane.io
  kubectl logs -n crossplane-system deploy/<the function's deployment> -c bridge   # its CDEvents
  npm run cluster:down
Charts are served from ${stack.charts.dir} at ${stack.charts.url}; the bridge's default sink is
the shipped one, which does not resolve here: it logs each delivery that fails.`);
}

async function down(): Promise<void> {
  if (existsSync(STATE)) {
    const { pids, dirs } = JSON.parse(await readFile(STATE, 'utf8')) as State;
    await terminate(pids);
    for (const path of dirs) await rm(path, { recursive: true, force: true });
    await rm(STATE);
  } else {
    console.log('cluster: not running');
  }
  // The node's containers, mounts and state, whoever left them.
  await clearNodeState();
  console.log('cluster: down');
}

const [command] = process.argv.slice(2);
(command === 'up'
  ? up()
  : command === 'down'
    ? down()
    : Promise.reject(new Error('usage: cli.ts up | down'))
).catch((error: unknown) => {
  console.error(`cluster: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
