/**
 * npm run cluster:up / cluster:down: the test control plane for a developer to poke at with
 * kubectl. `up` leaves etcd and kube-apiserver running and prints the kubeconfig path; `down`
 * stops them. The CRDs the tests use are installed: XEnvironment's, and the real ones of both
 * providers and of Crossplane's Usages. `up crossplane` (npm run cluster:up:crossplane) starts the
 * real stack of stack.ts instead, with the function package installed and running.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readYamlDocuments } from '../support/manifests.js';
import { compositeCrd } from '../support/crossplane-standin.js';
import { composedResourceCrds } from '../support/crds.js';
import { startControlPlane, terminate } from './controlplane.js';
import { installFunctionPackage, startStack } from './stack.js';

const STATE = '.tools/cluster/state.json';

async function alreadyUp(): Promise<boolean> {
  if (!existsSync(STATE)) return false;
  const { kubeconfig } = JSON.parse(await readFile(STATE, 'utf8')) as { kubeconfig: string };
  console.log(`already up: export KUBECONFIG=${kubeconfig}`);
  return true;
}

/** What `down` needs: the processes to stop and the folders to remove. */
async function saveState(state: { pids: number[]; dirs: string[]; kubeconfig: string }) {
  await mkdir('.tools/cluster', { recursive: true });
  await writeFile(STATE, JSON.stringify(state));
}

async function up(): Promise<void> {
  if (await alreadyUp()) return;
  const cp = await startControlPlane({
    detached: true,
    log: (line) => console.log(`cluster: ${line}`),
  });
  const [xrd] = await readYamlDocuments('apis/xenvironment/definition.yaml');
  for (const crd of [compositeCrd(xrd!), ...(await composedResourceCrds())]) await cp.applyCrd(crd);
  await saveState({ pids: cp.pids, dirs: [cp.dir], kubeconfig: cp.adminKubeconfig });
  console.log(`cluster: up at ${cp.server}; logs in ${cp.dir}`);
  console.log(`export KUBECONFIG=${cp.adminKubeconfig}`);
}

async function upCrossplane(): Promise<void> {
  if (await alreadyUp()) return;
  const stack = await startStack({
    detached: true,
    log: (line) => console.log(`cluster: ${line}`),
  });
  try {
    await installFunctionPackage(stack);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  await saveState({
    pids: stack.processes().map(({ pid }) => pid),
    dirs: [stack.dir, stack.host.dir, stack.environment.dir],
    kubeconfig: stack.host.adminKubeconfig,
  });
  console.log(`cluster: Crossplane at ${stack.host.server}; logs in ${stack.dir}`);
  console.log(`cluster: environment API server kubeconfig: ${stack.environment.adminKubeconfig}`);
  console.log(`cluster: charts in ${stack.charts.dir} served at ${stack.charts.url}`);
  console.log(`cluster: packages at ${stack.registry.host}`);
  console.log(`export KUBECONFIG=${stack.host.adminKubeconfig}`);
}

async function down(): Promise<void> {
  if (!existsSync(STATE)) {
    console.log('cluster: not running');
    return;
  }
  const { pids, dir, dirs } = JSON.parse(await readFile(STATE, 'utf8')) as {
    pids: number[];
    dir?: string; // state written before `dirs`
    dirs?: string[];
  };
  await terminate(pids);
  for (const path of dirs ?? [dir!]) await rm(path, { recursive: true, force: true });
  await rm(STATE);
  console.log('cluster: down');
}

const [command, variant] = process.argv.slice(2);
(command === 'up'
  ? variant === 'crossplane'
    ? upCrossplane()
    : up()
  : command === 'down'
    ? down()
    : Promise.reject(new Error('usage: cli.ts up [crossplane] | down'))
).catch((error: unknown) => {
  console.error(`cluster: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
