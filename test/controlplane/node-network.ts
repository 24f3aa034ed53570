/**
 * The node's network, all of it on this machine: pods in network namespaces on a bridge of their
 * own (10.244.0.0/24), with no route out and no masquerade; Service addresses (10.96.0.0/16) that
 * kube-proxy turns into pod or host addresses here. The host is 10.244.0.1 on that bridge: pods
 * reach the API server, the registry, the chart repository and the test's event sink there, since
 * a pod's 127.0.0.1 is its own. 10.244.0.1 is a private (RFC 1918) address, which Crossplane's
 * package fetcher speaks plain HTTP to, as it does to loopback.
 *
 * Idempotent, and tolerant of what an earlier run left behind (the bridge, the route, network
 * namespaces of pods whose runtime was killed): set up again at every node start.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const NODE_NETWORK = {
  bridge: 'xenv0',
  /** The host's address on the pod network. */
  host: '10.244.0.1',
  podSubnet: '10.244.0.0/24',
  serviceRange: '10.96.0.0/16',
  /** The `kubernetes` Service: the API server for pods. */
  kubernetesService: '10.96.0.1',
  /** The `kube-dns` Service: cluster DNS. */
  dnsService: '10.96.0.10',
  clusterDomain: 'cluster.local',
} as const;

async function ip(...args: string[]): Promise<string> {
  return (await run('ip', args)).stdout;
}

async function exists(device: string): Promise<boolean> {
  return ip('link', 'show', device).then(
    () => true,
    () => false,
  );
}

async function sysctl(key: string, value: string): Promise<void> {
  await run('sysctl', ['-q', '-w', `${key}=${value}`]);
}

/** Removes network namespaces the CNI made for pods: they outlive a killed containerd. */
async function removeStalePodNamespaces(): Promise<number> {
  const names = await readdir('/var/run/netns').catch(() => [] as string[]);
  const stale = names.filter((name) => name.startsWith('cni-'));
  for (const name of stale) await ip('netns', 'delete', name).catch(() => undefined);
  return stale.length;
}

export async function prepareNodeNetwork(): Promise<void> {
  const net = NODE_NETWORK;
  await removeStalePodNamespaces();
  if (!(await exists(net.bridge))) await ip('link', 'add', net.bridge, 'type', 'bridge');
  await ip('addr', 'replace', `${net.host}/24`, 'dev', net.bridge);
  await ip('link', 'set', net.bridge, 'up');
  // The Service range is routed onto the bridge: kube-proxy's DNAT sends what it knows to pods or
  // to the host, and anything else stays on the bridge (no route out). From the host, Service
  // traffic leaves from the pod network's address, which pods answer.
  await ip('route', 'replace', net.serviceRange, 'dev', net.bridge, 'src', net.host);
  // Pod traffic to Services crosses the host (kube-proxy's DNAT): forwarding, and bridged
  // packets through iptables so that replies between pods on the bridge are un-NATed.
  await sysctl('net.ipv4.ip_forward', '1');
  await sysctl('net.bridge.bridge-nf-call-iptables', '1');
}

/** The CNI configuration of the pod network, for containerd's CRI plugin. */
export function cniConfig(ipamDir: string): object {
  const net = NODE_NETWORK;
  return {
    cniVersion: '1.0.0',
    name: 'xenvironment-pods',
    plugins: [
      {
        type: 'bridge',
        bridge: net.bridge,
        isGateway: true,
        // No masquerade and no default route: pods reach this machine and each other, nothing else.
        ipMasq: false,
        // A pod reaching itself through its own Service.
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: ipamDir,
          ranges: [[{ subnet: net.podSubnet, gateway: net.host }]],
          routes: [{ dst: net.serviceRange }],
        },
      },
    ],
  };
}
