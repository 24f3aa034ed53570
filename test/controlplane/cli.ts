/**
 * npm run cluster:up / cluster:down: the e2e's stack (stack.ts) for a developer to poke at with
 * kubectl: Crossplane core with the product installed from its packages, the providers and the
 * function running, the chart repository, the environment's API server; plus the e2e's test
 * Compositions (the shipped ones with a catalogue of the local charts) and an example claim that
 * selects one; and the e2e's kubelet stand-in (kubelet.ts) as a process of its own, so that Helm's
 * wait and the readiness checks complete. `up` leaves every process running and prints how to use
 * it; `down` stops them. (`kubelet <kubeconfig>` is what `up` runs for the stand-in.)
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Kube } from '../support/kube.js';
import { offerTestCatalogue } from '../support/test-charts.js';
import { terminate } from './controlplane.js';
import { KubeletStandIn } from './kubelet.js';
import { launch } from './processes.js';
import { E2E_CROSSPLANE_ARGS, startStack } from './stack.js';

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
    await stack.kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
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
  const kubelet = launch(
    stack.dir,
    'kubelet-stand-in',
    process.execPath,
    [...process.execArgv, process.argv[1]!, 'kubelet', stack.environment.adminKubeconfig],
    { detached: true },
  );
  const state: State = {
    pids: [...stack.processes().map(({ pid }) => pid), kubelet.pid],
    dirs: [stack.dir, stack.host.dir, stack.environment.dir],
    kubeconfig: stack.host.adminKubeconfig,
  };
  await mkdir('.tools/cluster', { recursive: true });
  await writeFile(STATE, JSON.stringify(state));
  console.log(`
cluster: up. Crossplane at ${stack.host.server}, logs in ${stack.dir}
  export KUBECONFIG=${stack.host.adminKubeconfig}
  kubectl get configurations,providers,functions          # installed from ${stack.registry.host}
  kubectl apply -f ${claim}   # tools widgets-crd, settings, web
  kubectl get environment -n team-a dev -w
  kubectl get objects.kubernetes.crossplane.io,releases.helm.crossplane.io,usages.apiextensions.crossplane.io
  KUBECONFIG=${stack.environment.adminKubeconfig} kubectl get configmaps,deployments -A
                                                          # the environment's cluster
  npm run cluster:down
Charts are served from ${stack.charts.dir} at ${stack.charts.url}. No pod ever runs: a stand-in
reports the environment's Deployments available (log: ${kubelet.log}).`);
}

/** The kubelet stand-in, until stopped. */
async function kubelet(kubeconfig: string | undefined): Promise<void> {
  if (!kubeconfig) throw new Error('usage: cli.ts kubelet <kubeconfig>');
  const standIn = new KubeletStandIn(Kube.fromFile(kubeconfig));
  standIn.start();
  console.log(`kubelet stand-in: reporting the Deployments of ${kubeconfig}`);
  await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
  await standIn.stop();
}

async function down(): Promise<void> {
  if (!existsSync(STATE)) {
    console.log('cluster: not running');
    return;
  }
  const { pids, dirs } = JSON.parse(await readFile(STATE, 'utf8')) as State;
  await terminate(pids);
  for (const path of dirs) await rm(path, { recursive: true, force: true });
  await rm(STATE);
  console.log('cluster: down');
}

const [command, argument] = process.argv.slice(2);
(command === 'up'
  ? up()
  : command === 'down'
    ? down()
    : command === 'kubelet'
      ? kubelet(argument)
      : Promise.reject(new Error('usage: cli.ts up | down'))
).catch((error: unknown) => {
  console.error(`cluster: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
