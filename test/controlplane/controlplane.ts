/**
 * A real Kubernetes control plane for tests: etcd and kube-apiserver built from source by
 * test/tools/install.sh, RBAC on, client-certificate users. Everything binds to 127.0.0.1 on free
 * ports, unless it serves a node (`node: true`): then the API server listens on the host's address
 * on the pod network, which pods reach, with the node authorizer, service account tokens and the
 * `kubernetes` Service's address in its certificate. stop() leaves nothing running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'node:https';
import { authority, leaf, type KeyPair } from '../support/certificates.js';
import { freePort } from '../support/net.js';
import { NODE_NETWORK } from './node-network.js';

export const TOOLS_BIN = resolve('.tools/bin');

export interface ControlPlane {
  server: string;
  /** The address it listens on: 127.0.0.1, or the host's address on the pod network. */
  address: string;
  /** The port it listens on. */
  port: number;
  dir: string;
  /** The PEM of the CA every certificate of this control plane is issued by. */
  caCert: string;
  /** The key that signs service account tokens (kube-controller-manager's token controller). */
  serviceAccountKeyFile: string;
  /** A server certificate from that CA, for the names and addresses given. */
  serverCertificate(name: string, dnsNames: string[], ips: string[]): KeyPair;
  /** Path of a kubeconfig for the cluster admin (system:masters). */
  adminKubeconfig: string;
  /**
   * Server-side applies a CRD as raw JSON: client-node's typed models drop `x-kubernetes-*`
   * schema keys they know only by camelCase names.
   */
  applyCrd(crd: Record<string, unknown>): Promise<void>;
  /** Writes a kubeconfig for a user with the given groups, authenticated by client certificate. */
  userKubeconfig(user: string, group?: string): Promise<string>;
  pids: number[];
  stop(): Promise<void>;
}

function binary(name: string): string {
  const path = join(TOOLS_BIN, name);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run npm run tools (npm test does)`);
  }
  return path;
}

function kubeconfig(server: string, ca: string, user: string, pair: KeyPair): string {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'xenvironment-test', cluster: { server, 'certificate-authority-data': b64(ca) } },
    ],
    users: [
      {
        name: user,
        user: { 'client-certificate-data': b64(pair.cert), 'client-key-data': b64(pair.key) },
      },
    ],
    contexts: [{ name: user, context: { cluster: 'xenvironment-test', user } }],
    'current-context': user,
  });
}

function applyRaw(
  host: string,
  port: number,
  ca: string,
  admin: KeyPair,
  path: string,
  body: string,
): Promise<void> {
  return new Promise((done, fail) => {
    const req = request(
      {
        host,
        port,
        method: 'PATCH',
        path: `${path}?fieldManager=xenvironment-tests&force=true`,
        headers: { 'content-type': 'application/apply-patch+yaml' },
        ca,
        cert: admin.cert,
        key: admin.key,
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () =>
          res.statusCode! < 300
            ? done()
            : fail(new Error(`apply ${path}: ${res.statusCode} ${text}`)),
        );
      },
    );
    req.on('error', fail);
    req.end(body);
  });
}

function readyz(host: string, port: number, ca: string, admin: KeyPair): Promise<boolean> {
  return new Promise((done) => {
    const req = request(
      {
        host,
        port,
        path: '/readyz',
        ca,
        cert: admin.cert,
        key: admin.key,
        timeout: 2_000,
      },
      (res) => {
        res.resume();
        done(res.statusCode === 200);
      },
    );
    req.on('error', () => done(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A detached process that has exited stays a zombie until init reaps it, which can take long.
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Stops processes last-started first (kube-apiserver before etcd, which it needs to shut down
 * cleanly), each with SIGTERM and, after 5 s, SIGKILL. Works for detached processes too.
 */
export async function terminate(pids: number[]): Promise<void> {
  for (const pid of [...pids].reverse()) {
    if (!alive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 5_000;
    while (alive(pid)) {
      if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
      await new Promise((done) => setTimeout(done, 50));
    }
  }
}

export interface StartOptions {
  /** Keep the processes when this Node process exits (cluster:up). */
  detached?: boolean;
  log?: (line: string) => void;
  /** More kube-apiserver flags. */
  args?: string[];
  /** Serve a node's kubelet and pods (see above). */
  node?: boolean;
}

/** What serving a node adds to the API server's flags. */
function nodeServingArgs(files: { ca: string; kubeletCert: string; kubeletKey: string }) {
  return [
    '--enable-admission-plugins',
    'NodeRestriction',
    '--allow-privileged=true',
    // Logs, exec and port-forward go through the kubelet, which trusts this CA's clients.
    '--kubelet-client-certificate',
    files.kubeletCert,
    '--kubelet-client-key',
    files.kubeletKey,
    '--kubelet-certificate-authority',
    files.ca,
    '--kubelet-preferred-address-types',
    'InternalIP',
  ];
}

export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const etcdBin = binary('etcd');
  const apiserverBin = binary('kube-apiserver');
  const dir = await mkdtemp(join(tmpdir(), 'xenv-cp-'));
  const node = options.node ?? false;
  const address = node ? NODE_NETWORK.host : '127.0.0.1';
  const ca = authority('xenvironment-test-ca');
  const serving = leaf(
    'kube-apiserver',
    ca.issuer,
    true,
    undefined,
    [
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      `kubernetes.default.svc.${NODE_NETWORK.clusterDomain}`,
    ],
    node ? [NODE_NETWORK.host, NODE_NETWORK.kubernetesService] : [],
  );
  const admin = leaf('admin', ca.issuer, false, 'system:masters');
  const kubeletClient = leaf('kube-apiserver-kubelet-client', ca.issuer, false, 'system:masters');
  const serviceAccount = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const files = {
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'apiserver.crt'),
    key: join(dir, 'apiserver.key'),
    saPub: join(dir, 'sa.pub'),
    saKey: join(dir, 'sa.key'),
    kubeletCert: join(dir, 'kubelet-client.crt'),
    kubeletKey: join(dir, 'kubelet-client.key'),
  };
  await writeFile(files.kubeletCert, kubeletClient.cert);
  await writeFile(files.kubeletKey, kubeletClient.key);
  await writeFile(files.ca, ca.pair.cert);
  await writeFile(files.cert, serving.cert);
  await writeFile(files.key, serving.key);
  await writeFile(files.saPub, serviceAccount.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(files.saKey, serviceAccount.privateKey.export({ type: 'pkcs8', format: 'pem' }));

  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const processes: ChildProcess[] = [];
  const launch = (name: string, command: string, args: string[]) => {
    const out = openSync(join(dir, `${name}.log`), 'a');
    const child = spawn(command, args, {
      stdio: ['ignore', out, out],
      detached: options.detached ?? false,
    });
    if (options.detached) child.unref();
    processes.push(child);
    return child;
  };

  await mkdir(join(dir, 'etcd'));
  log(`starting etcd on 127.0.0.1:${etcdPort}`);
  launch('etcd', etcdBin, [
    '--data-dir',
    join(dir, 'etcd'),
    '--listen-client-urls',
    `http://127.0.0.1:${etcdPort}`,
    '--advertise-client-urls',
    `http://127.0.0.1:${etcdPort}`,
    '--listen-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-cluster',
    `default=http://127.0.0.1:${peerPort}`,
    '--unsafe-no-fsync',
    '--log-level',
    'warn',
  ]);
  log(`starting kube-apiserver on ${address}:${apiPort}`);
  launch('kube-apiserver', apiserverBin, [
    '--etcd-servers',
    `http://127.0.0.1:${etcdPort}`,
    '--bind-address',
    address,
    '--advertise-address',
    address,
    '--secure-port',
    String(apiPort),
    '--tls-cert-file',
    files.cert,
    '--tls-private-key-file',
    files.key,
    '--client-ca-file',
    files.ca,
    '--authorization-mode',
    node ? 'Node,RBAC' : 'RBAC',
    '--service-account-issuer',
    'https://kubernetes.default.svc',
    '--service-account-key-file',
    files.saPub,
    '--service-account-signing-key-file',
    files.saKey,
    '--service-cluster-ip-range',
    NODE_NETWORK.serviceRange,
    // Without a node no pod runs: no service account token is ever mounted.
    ...(node ? nodeServingArgs(files) : ['--disable-admission-plugins', 'ServiceAccount']),
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    ...(options.args ?? []),
  ]);

  const stop = async () => {
    await terminate(processes.map((child) => child.pid!));
    await rm(dir, { recursive: true, force: true });
  };

  const started = Date.now();
  while (!(await readyz(address, apiPort, ca.pair.cert, admin))) {
    const exited = processes.find((child) => child.exitCode !== null);
    if (exited || Date.now() - started > 60_000) {
      const tail = (name: string) =>
        readFileSync(join(dir, `${name}.log`), 'utf8')
          .trimEnd()
          .split('\n')
          .slice(-15)
          .join('\n');
      const logs = `--- etcd.log\n${tail('etcd')}\n--- kube-apiserver.log\n${tail('kube-apiserver')}`;
      await stop();
      throw new Error(`control plane did not become ready:\n${logs}`);
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  log(`control plane ready in ${Date.now() - started} ms`);

  const server = `https://${address}:${apiPort}`;
  const adminKubeconfig = join(dir, 'admin.kubeconfig');
  await writeFile(adminKubeconfig, kubeconfig(server, ca.pair.cert, 'admin', admin));
  return {
    server,
    address,
    port: apiPort,
    dir,
    caCert: ca.pair.cert,
    serviceAccountKeyFile: files.saKey,
    serverCertificate: (name, dnsNames, ips) =>
      leaf(name, ca.issuer, true, undefined, dnsNames, ips),
    adminKubeconfig,
    pids: processes.map((child) => child.pid!),
    applyCrd: (crd) =>
      applyRaw(
        address,
        apiPort,
        ca.pair.cert,
        admin,
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${(crd.metadata as { name: string }).name}`,
        JSON.stringify(crd),
      ),
    async userKubeconfig(user, group) {
      const path = join(dir, `${user}.kubeconfig`);
      await writeFile(
        path,
        kubeconfig(server, ca.pair.cert, user, leaf(user, ca.issuer, false, group)),
      );
      return path;
    },
    stop,
  };
}
