/**
 * npm run cluster:up / cluster:down: the test control plane for a developer to poke at with
 * kubectl. `up` leaves etcd and kube-apiserver running and prints the kubeconfig path; `down`
 * stops them. The CRDs the tests use are installed: XEnvironment's, and the real ones of both
 * providers and of Crossplane's Usages.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readYamlDocuments } from '../support/manifests.js';
import { compositeCrd } from '../support/crossplane-standin.js';
import { composedResourceCrds } from '../support/crds.js';
import { startControlPlane, terminate } from './controlplane.js';

const STATE = '.tools/cluster/state.json';

async function up(): Promise<void> {
  if (existsSync(STATE)) {
    const { kubeconfig } = JSON.parse(await readFile(STATE, 'utf8')) as { kubeconfig: string };
    console.log(`already up: export KUBECONFIG=${kubeconfig}`);
    return;
  }
  const cp = await startControlPlane({
    detached: true,
    log: (line) => console.log(`cluster: ${line}`),
  });
  const [xrd] = await readYamlDocuments('apis/xenvironment/definition.yaml');
  for (const crd of [compositeCrd(xrd!), ...(await composedResourceCrds())]) await cp.applyCrd(crd);
  await mkdir('.tools/cluster', { recursive: true });
  await writeFile(
    STATE,
    JSON.stringify({ pids: cp.pids, dir: cp.dir, kubeconfig: cp.adminKubeconfig }),
  );
  console.log(`cluster: up at ${cp.server}; logs in ${cp.dir}`);
  console.log(`export KUBECONFIG=${cp.adminKubeconfig}`);
}

async function down(): Promise<void> {
  if (!existsSync(STATE)) {
    console.log('cluster: not running');
    return;
  }
  const { pids, dir } = JSON.parse(await readFile(STATE, 'utf8')) as {
    pids: number[];
    dir: string;
  };
  await terminate(pids);
  await rm(dir, { recursive: true, force: true });
  await rm(STATE);
  console.log('cluster: down');
}

const command = process.argv[2];
(command === 'up'
  ? up()
  : command === 'down'
    ? down()
    : Promise.reject(new Error('usage: cli.ts up|down'))
).catch((error: unknown) => {
  console.error(`cluster: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
