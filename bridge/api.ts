import { Agent, request, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { JsonObject } from '../common/objects.js';

export class ApiError extends Error {
  constructor(
    readonly code: number,
    body: string,
  ) {
    super(`API server answered ${code}: ${body.slice(0, 300)}`);
    this.name = 'ApiError';
  }
}

/**
 * The bridge's few writes and reads, over one keep-alive connection pool. client-node 1.x builds a
 * new TLS context and connection for every request, which was most of the bridge's CPU per event.
 * Credentials are applied per request, so rotated service-account tokens are picked up.
 */
export class ApiClient {
  private agent: Agent | undefined;
  private readonly server: URL;

  constructor(private readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig: no current cluster');
    this.server = new URL(cluster.server);
  }

  async send(method: 'GET' | 'PATCH', path: string, body?: JsonObject): Promise<JsonObject> {
    const options: RequestOptions = {
      method,
      host: this.server.hostname,
      port: Number(this.server.port) || 443,
      path,
      headers: {
        accept: 'application/json',
        ...(body ? { 'content-type': 'application/merge-patch+json' } : {}),
      },
    };
    await this.kubeConfig.applyToHTTPSOptions(options);
    this.agent ??= new Agent({
      keepAlive: true,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      rejectUnauthorized: options.rejectUnauthorized,
    });
    options.agent = this.agent;
    const payload = body ? JSON.stringify(body) : undefined;
    return new Promise((resolve, reject) => {
      const req = request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve(JSON.parse(text) as JsonObject);
          else reject(new ApiError(code, text));
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent?.destroy();
  }
}
