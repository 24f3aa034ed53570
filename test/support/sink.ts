import { appendFile, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import { HTTP, type CloudEvent } from 'cloudevents';

export interface Received {
  event: CloudEvent<Record<string, unknown>>;
  /** The form it arrived in. */
  mode: 'binary' | 'structured';
  /** performance.now() on arrival. */
  at: number;
}

/**
 * A real CloudEvents HTTP receiver, on loopback or at another address of this machine (the host's
 * on the node network, for a bridge in a pod). It can be taken down and brought back on the same
 * port, and appends everything it accepts to a JSON-lines file (structured form).
 */
export class TestSink {
  readonly received: Received[] = [];
  private server: Server | undefined;
  port = 0;
  /** Answer this status instead of 202, to play a failing sink. */
  failWith: number | undefined;
  /** Accept events but never answer, to play a sink that hangs after taking them. */
  hang = false;
  /** Hold requests unanswered without taking their events, to play a sink slow to take them. */
  stall = false;
  /** Called on each arrival, before the answer. */
  onReceive: ((received: Received) => void) | undefined;

  constructor(
    private readonly logFile?: string,
    private readonly address = '127.0.0.1',
  ) {}

  get url(): string {
    return `http://${this.address}:${this.port}/`;
  }

  async up(): Promise<void> {
    if (this.logFile) await mkdir(dirname(this.logFile), { recursive: true });
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (this.stall) return;
        if (this.failWith) {
          res.writeHead(this.failWith).end();
          return;
        }
        const headers = req.headers as Record<string, string>;
        const event = HTTP.toEvent({
          headers,
          body: Buffer.concat(chunks).toString(),
        }) as CloudEvent<Record<string, unknown>>;
        const mode = String(headers['content-type']).startsWith('application/cloudevents+json')
          ? 'structured'
          : 'binary';
        const received: Received = { event, mode, at: performance.now() };
        this.received.push(received);
        this.onReceive?.(received);
        if (this.hang) return;
        const line = `${JSON.stringify(event.toJSON())}\n`;
        void (this.logFile ? appendFile(this.logFile, line) : Promise.resolve()).then(() =>
          res.writeHead(202).end(),
        );
      });
    });
    await new Promise<void>((done) => this.server!.listen(this.port, this.address, done));
    this.port = (this.server.address() as { port: number }).port;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }

  /** Waits until `count` events have arrived in all; returns those after `from`. */
  async waitFor(count: number, timeoutMs = 20_000): Promise<Received[]> {
    const started = Date.now();
    while (this.received.length < count) {
      if (Date.now() - started > timeoutMs) {
        throw new Error(
          `sink: ${this.received.length} of ${count} events after ${timeoutMs} ms: ${this.received.map((r) => r.event.type).join(', ')}`,
        );
      }
      await new Promise((done) => setTimeout(done, 50));
    }
    return this.received.slice(0, count);
  }
}
