/**
 * A real node beside the host control plane, as kubeadm-style parts on this machine: containerd
 * (Debian's, with runc) as the kubelet's runtime, the kubelet, kube-proxy in iptables mode,
 * kube-scheduler, and kube-controller-manager with its default controllers. Images come from the
 * stack's registry over plain HTTP; pods live on the node network (node-network.ts).
 *
 * One node per machine: the kubelet's port, the bridge and the iptables rules are the machine's.
 * Its state lives in NODE_STATE; a start clears what an earlier run left there (processes,
 * containers, mounts) and refuses while another node is running.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { conditionStatus, type Kube } from '../support/kube.js';
import { freePort } from '../support/net.js';
import type { ControlPlane } from './controlplane.js';
import { cniConfig, NODE_NETWORK, prepareNodeNetwork } from './node-network.js';
import { answers200, launch, waitFor, type LaunchOptions, type Process } from './processes.js';
import { binaryPath } from './tools.js';

const run = promisify(execFile);

export const NODE_STATE = '/var/lib/xenvironment-node';
export const NODE_NAME = 'xenv-node';
const OWNER = join(NODE_STATE, 'owner.json');

export interface Node {
  name: string;
  /** containerd's socket, for `crictl`-like inspection and the logs. */
  containerdSocket: string;
  processes: Process[];
}

export interface NodeOptions extends LaunchOptions {
  /** `host:port` of the registry images are pulled from (plain HTTP). */
  registry: string;
  /** The sandbox image, in that registry. */
  sandboxImage: string;
  /** Folder for the processes' logs. */
  logDir: string;
  log?: (line: string) => void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line names the node's state: the runtime, shims, kubelet, kube-proxy. */
async function leftoverProcesses(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(NODE_STATE)) pids.push(pid);
  }
  return pids;
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((point): point is string => point !== undefined && point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Clears what an earlier node left: its containers (runc), processes, mounts and state. Refuses
 * when that node's kubelet is still running (a `cluster:up` stack, say).
 */
export async function clearNodeState(): Promise<void> {
  if (existsSync(OWNER)) {
    const { kubelet } = JSON.parse(readFileSync(OWNER, 'utf8')) as { kubelet: number };
    if (alive(kubelet) && (await leftoverProcesses()).includes(kubelet)) {
      throw new Error(
        `a node is running on this machine (kubelet pid ${kubelet}): stop it first (npm run cluster:down)`,
      );
    }
  }
  const runcRoot = join(NODE_STATE, 'runc/k8s.io');
  if (existsSync(runcRoot)) {
    const { stdout } = await run('runc', ['--root', runcRoot, 'list', '-q']).catch(() => ({
      stdout: '',
    }));
    for (const id of stdout.split('\n').filter(Boolean)) {
      await run('runc', ['--root', runcRoot, 'delete', '--force', id]).catch(() => undefined);
    }
  }
  for (const pid of await leftoverProcesses()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  for (const point of mountsUnder(NODE_STATE)) {
    await run('umount', ['-l', point]).catch(() => undefined);
  }
  await rm(NODE_STATE, { recursive: true, force: true });
}

function containerdConfig(state: string, registry: string, sandboxImage: string): string {
  return `version = 2
root = "${state}/containerd/root"
state = "${state}/containerd/state"
[grpc]
  address = "${state}/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${sandboxImage}"
  # This sandbox refuses lowering oom_score_adj, even to root: without this every pod sandbox fails
  # in runc ("can't get final child's PID from pipe: EOF").
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${state}/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    # runc, not crun: crun refuses the hybrid cgroup layout of this kernel.
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      Root = "${state}/runc"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "${state}/containerd/certs.d"
`;
}

/** containerd pulls from the stack's registry over plain HTTP. */
function registryHosts(registry: string): string {
  return `server = "http://${registry}"
[host."http://${registry}"]
  capabilities = ["pull", "resolve"]
`;
}

function kubeletConfig(state: string, caFile: string, cert: string, key: string): object {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: caFile },
    },
    authorization: { mode: 'AlwaysAllow' },
    // This kernel mounts cgroups in hybrid (v1) mode, which 1.35 refuses by default.
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    failSwapOn: false,
    address: NODE_NETWORK.host,
    port: 10250,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    containerRuntimeEndpoint: `unix://${state}/containerd/containerd.sock`,
    clusterDNS: [NODE_NETWORK.dnsService],
    clusterDomain: NODE_NETWORK.clusterDomain,
    // What pods with `dnsPolicy: Default` (DNS servers themselves) resolve with: cluster DNS,
    // which answers only for the cluster; never this machine's own resolver.
    resolvConf: join(state, 'resolv.conf'),
    tlsCertFile: cert,
    tlsPrivateKeyFile: key,
    serializeImagePulls: false,
    // A test machine's disk is shared: never evict the test's pods for it.
    evictionHard: {
      'memory.available': '100Mi',
      'nodefs.available': '1%',
      'imagefs.available': '1%',
    },
    imageGCHighThresholdPercent: 100,
    maxPods: 110,
  };
}

async function socketAnswers(socket: string): Promise<boolean> {
  return run('ctr', ['--address', socket, 'version']).then(
    () => true,
    () => false,
  );
}

/**
 * Makes the machine ready for a node: clears what an earlier one left and sets up the network.
 * Before the control plane starts: its API server listens on the node network.
 */
export async function prepareNode(): Promise<void> {
  await clearNodeState();
  await prepareNodeNetwork();
  await mkdir(NODE_STATE, { recursive: true });
}

/**
 * Starts the node's processes against `cp` (started with `node: true`, after prepareNode()) and
 * waits until the node is Ready. kube-scheduler and kube-controller-manager come up beside it.
 */
export async function startNode(cp: ControlPlane, kube: Kube, options: NodeOptions): Promise<Node> {
  const log = options.log ?? (() => {});
  const state = NODE_STATE;
  for (const dir of [
    'containerd',
    'cni',
    'kubelet',
    'pki',
    `containerd/certs.d/${options.registry}`,
  ]) {
    await mkdir(join(state, dir), { recursive: true });
  }
  const launchOptions: LaunchOptions = { detached: options.detached, started: options.started };
  const processes: Process[] = [];
  const start = (name: string, command: string, args: string[]) => {
    const process = launch(options.logDir, name, command, args, launchOptions);
    processes.push(process);
    return process;
  };

  await writeFile(
    join(state, 'containerd/config.toml'),
    containerdConfig(state, options.registry, options.sandboxImage),
  );
  await writeFile(
    join(state, `containerd/certs.d/${options.registry}/hosts.toml`),
    registryHosts(options.registry),
  );
  await writeFile(
    join(state, 'cni/10-pods.conflist'),
    JSON.stringify(cniConfig(join(state, 'cni-ipam'))),
  );
  await writeFile(join(state, 'resolv.conf'), `nameserver ${NODE_NETWORK.dnsService}\n`);
  const socket = join(state, 'containerd/containerd.sock');
  log('starting containerd');
  const containerd = start('containerd', 'containerd', [
    '--config',
    join(state, 'containerd/config.toml'),
  ]);
  await waitFor('containerd', () => socketAnswers(socket), { watch: [containerd] });

  const pki = join(state, 'pki');
  const serving = cp.serverCertificate(NODE_NAME, [NODE_NAME], [NODE_NETWORK.host]);
  await writeFile(join(pki, 'ca.crt'), cp.caCert);
  await writeFile(join(pki, 'kubelet.crt'), serving.cert);
  await writeFile(join(pki, 'kubelet.key'), serving.key);
  await writeFile(
    join(state, 'kubelet/config.yaml'),
    stringify(
      kubeletConfig(state, join(pki, 'ca.crt'), join(pki, 'kubelet.crt'), join(pki, 'kubelet.key')),
    ),
  );
  log('starting kubelet');
  const kubelet = start('kubelet', binaryPath('kubelet'), [
    `--config=${join(state, 'kubelet/config.yaml')}`,
    `--kubeconfig=${await cp.userKubeconfig(`system:node:${NODE_NAME}`, 'system:nodes')}`,
    `--root-dir=${join(state, 'kubelet')}`,
    `--hostname-override=${NODE_NAME}`,
    `--node-ip=${NODE_NETWORK.host}`,
    '--v=1',
  ]);
  await writeFile(OWNER, JSON.stringify({ kubelet: kubelet.pid }));

  const [proxyHealth, proxyMetrics, schedulerPort, kcmPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  log('starting kube-proxy, kube-scheduler, kube-controller-manager');
  const kubeProxy = start('kube-proxy', binaryPath('kubeProxy'), [
    `--kubeconfig=${await cp.userKubeconfig('system:kube-proxy')}`,
    `--hostname-override=${NODE_NAME}`,
    '--proxy-mode=iptables',
    `--cluster-cidr=${NODE_NETWORK.podSubnet}`,
    // NodePorts only on the pod network's host address, never on this machine's own interfaces.
    `--nodeport-addresses=${NODE_NETWORK.host}/32`,
    `--healthz-bind-address=127.0.0.1:${proxyHealth}`,
    `--metrics-bind-address=127.0.0.1:${proxyMetrics}`,
    // Leave the machine's conntrack settings alone.
    '--conntrack-max-per-core=0',
  ]);
  const scheduler = start('kube-scheduler', binaryPath('kubeScheduler'), [
    `--kubeconfig=${await cp.userKubeconfig('system:kube-scheduler')}`,
    `--authentication-kubeconfig=${cp.adminKubeconfig}`,
    `--authorization-kubeconfig=${cp.adminKubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${schedulerPort}`,
    '--leader-elect=false',
  ]);
  const kcmCerts = join(state, 'kube-controller-manager');
  await mkdir(kcmCerts, { recursive: true });
  const controllerManager = start('kube-controller-manager', binaryPath('kubeControllerManager'), [
    `--kubeconfig=${cp.adminKubeconfig}`,
    `--authentication-kubeconfig=${cp.adminKubeconfig}`,
    `--authorization-kubeconfig=${cp.adminKubeconfig}`,
    '--leader-elect=false',
    '--use-service-account-credentials=false',
    `--service-account-private-key-file=${cp.serviceAccountKeyFile}`,
    `--root-ca-file=${join(pki, 'ca.crt')}`,
    `--cluster-cidr=${NODE_NETWORK.podSubnet}`,
    `--service-cluster-ip-range=${NODE_NETWORK.serviceRange}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${kcmPort}`,
    `--cert-dir=${kcmCerts}`,
    // Level 2 logs each garbage-collector resync, which garbageCollectorWatches() reads.
    '--v=2',
  ]);

  const all = [containerd, kubelet, kubeProxy, scheduler, controllerManager];
  await waitFor('kubelet healthz', () => answers200('http://127.0.0.1:10248/healthz'), {
    watch: all,
    timeoutMs: 60_000,
  });
  await waitFor(
    `node ${NODE_NAME} Ready`,
    async () => conditionStatus(await kube.read('v1', 'Node', NODE_NAME), 'Ready') === 'True',
    { watch: all, timeoutMs: 120_000 },
  );
  await waitFor('kube-proxy healthz', () => answers200(`http://127.0.0.1:${proxyHealth}/healthz`), {
    watch: all,
  });
  await waitFor(
    'kube-scheduler healthz',
    () => answers200(`https://127.0.0.1:${schedulerPort}/healthz`),
    { watch: all },
  );
  await waitFor(
    'kube-controller-manager healthz',
    () => answers200(`https://127.0.0.1:${kcmPort}/healthz`),
    { watch: all },
  );
  log(`node ${NODE_NAME} Ready`);
  return { name: NODE_NAME, containerdSocket: socket, processes };
}

/**
 * Whether the garbage collector watches a resource (`<plural>.<group>`). It rediscovers resources
 * every 30 s (fixed in kube-controller-manager): an owner whose kind it does not watch yet, like
 * an XR whose CRD is new, is noticed gone only after a backoff of a minute or more.
 */
export async function garbageCollectorWatches(kcm: Process, resource: string): Promise<boolean> {
  const [plural, ...group] = resource.split('.');
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // The resync's log line lists what it adds as `<group>/<version>, Resource=<plural>`.
  const added = new RegExp(`${escape(group.join('.'))}/[^,\\s]+, Resource=${escape(plural!)}\\b`);
  const log = await readFile(kcm.log, 'utf8');
  return log
    .split('\n')
    .some((line) => line.includes('syncing garbage collector') && added.test(line));
}
