/**
 * The built bridge (dist/bundle/bridge/main.mjs) as a child process, as it ships, and its shipped
 * RBAC bound to the user it authenticates as on the test control plane.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BRIDGE_NODE_FLAGS } from './image.js';
import { readYamlDocuments } from './manifests.js';

type Obj = Record<string, unknown>;

/** The documents of examples/bridge/rbac.yaml, with each binding's subject made `user`. */
export async function bridgeRbac(user: string): Promise<Obj[]> {
  const documents = (await readYamlDocuments('examples/bridge/rbac.yaml')) as Obj[];
  return documents.map((document) =>
    String(document.kind).endsWith('Binding')
      ? {
          ...document,
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
        }
      : document,
  );
}

export class BridgeProcess {
  output = '';
  private child: ChildProcess | undefined;

  constructor(
    private readonly env: Record<string, string>,
    readonly metricsPort: number,
  ) {}

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  start(): void {
    const child = spawn(process.execPath, [...BRIDGE_NODE_FLAGS, 'dist/bundle/bridge/main.mjs'], {
      env: {
        ...process.env,
        ...this.env,
        BRIDGE_HTTP_ADDRESS: `127.0.0.1:${this.metricsPort}`,
      },
    });
    const append = (chunk: Buffer) => (this.output += chunk.toString());
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    this.child = child;
  }

  /** Waits for the process to exit on its own; its exit code, or undefined if it did not. */
  async exited(timeoutMs: number): Promise<number | null | undefined> {
    const child = this.child;
    if (!child) return undefined;
    if (child.exitCode !== null) return child.exitCode;
    return await new Promise((done) => {
      const timer = setTimeout(() => done(undefined), timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        done(code);
      });
    });
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill(signal);
    await exited;
  }

  async get(path: string): Promise<{ status: number; body: string } | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.metricsPort}${path}`);
      return { status: res.status, body: await res.text() };
    } catch {
      return undefined;
    }
  }

  /** The value of an unlabelled metric, or undefined before the bridge answers. */
  async metric(name: string): Promise<number | undefined> {
    const res = await this.get('/metrics');
    const line = res?.body.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  }
}
