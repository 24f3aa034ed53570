/**
 * Cluster DNS for the node, as kubeadm installs it: CoreDNS as a Deployment in kube-system behind
 * the `kube-dns` Service, with kubeadm's RBAC. Its Corefile answers the cluster's names and
 * forwards nothing: no query leaves this machine, and every other name does not exist.
 */
import type { Kube, Obj } from '../support/kube.js';
import { NODE_NETWORK } from './node-network.js';
import { waitFor } from './processes.js';

/** Above 1024, as vcluster's CoreDNS does: the image runs as a user without privileges. */
const DNS_PORT = 1053;

export function clusterDnsManifests(image: string): Obj[] {
  const labels = { 'k8s-app': 'kube-dns' };
  const metadata = { name: 'coredns', namespace: 'kube-system' };
  // kubeadm's Corefile, its forward replaced by a block that answers every other name NXDOMAIN.
  const corefile = `${NODE_NETWORK.clusterDomain}:${DNS_PORT} in-addr.arpa:${DNS_PORT} ip6.arpa:${DNS_PORT} {
    errors
    health {
        lameduck 5s
    }
    ready
    kubernetes ${NODE_NETWORK.clusterDomain} in-addr.arpa ip6.arpa {
        pods insecure
        ttl 30
    }
    cache 30
    loop
    reload
    loadbalance
}
.:${DNS_PORT} {
    errors
    template ANY ANY {
        rcode NXDOMAIN
    }
}
`;
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:coredns' },
      rules: [
        {
          apiGroups: [''],
          resources: ['endpoints', 'services', 'pods', 'namespaces'],
          verbs: ['list', 'watch'],
        },
        {
          apiGroups: ['discovery.k8s.io'],
          resources: ['endpointslices'],
          verbs: ['list', 'watch'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:coredns' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'system:coredns',
      },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { Corefile: corefile } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { ...metadata, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'coredns',
            priorityClassName: 'system-cluster-critical',
            dnsPolicy: 'Default',
            containers: [
              {
                name: 'coredns',
                image,
                args: ['-conf', '/etc/coredns/Corefile'],
                ports: [
                  { name: 'dns', containerPort: DNS_PORT, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: DNS_PORT, protocol: 'TCP' },
                ],
                livenessProbe: { httpGet: { path: '/health', port: 8080 }, initialDelaySeconds: 5 },
                readinessProbe: { httpGet: { path: '/ready', port: 8181 } },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: 'coredns' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels },
      spec: {
        selector: labels,
        clusterIP: NODE_NETWORK.dnsService,
        ports: [
          { name: 'dns', port: 53, targetPort: DNS_PORT, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, targetPort: DNS_PORT, protocol: 'TCP' },
        ],
      },
    },
  ];
}

export async function startClusterDns(kube: Kube, image: string): Promise<void> {
  for (const manifest of clusterDnsManifests(image)) await kube.apply(manifest);
  await waitFor(
    'CoreDNS available',
    async () => {
      const deployment = await kube.read('apps/v1', 'Deployment', 'coredns', 'kube-system');
      return ((deployment?.status as { availableReplicas?: number })?.availableReplicas ?? 0) > 0;
    },
    { timeoutMs: 120_000 },
  );
}
