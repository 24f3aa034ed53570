import { Agent, request, type RequestOptions } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import type { JsonObject } from '../../common/objects.js';

export class ApiError extends Error {
  /** The Status message the API server gave, or the start of its answer. */
  readonly reason: string;

  constructor(
    readonly code: number,
    body: string,
  ) {
    super(`API server answered ${code}: ${body.slice(0, 300)}`);
    this.name = 'ApiError';
    let reason = body.slice(0, 300);
    try {
      const status = JSON.parse(body) as { message?: unknown };
      if (typeof status.message === 'string') reason = status.message;
    } catch {
      // not a Status: its start will do
    }
    this.reason = reason;
  }
}

/** The field manager of every write the bridge makes, as the API server records it. */
export const FIELD_MANAGER = 'xenvironment-bridge';

/** `path` with the bridge's field manager, for a create or a patch. */
export const managedBy = (path: string) => `${path}?fieldManager=${FIELD_MANAGER}`;

const CONTENT_TYPES = {
  GET: undefined,
  PATCH: 'application/merge-patch+json',
  PUT: 'application/json',
  POST: 'application/json',
  DELETE: 'application/json',
};

/** A kind of resource, as group/version/plural. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
}

export function parseResourceType(text: string): ResourceType {
  const [group, version, plural, ...rest] = text.split('/');
  if (!group || !version || !plural || rest.length > 0) {
    throw new Error(`${JSON.stringify(text)} is not group/version/plural`);
  }
  return { group, version, plural };
}

/** The API path of an object of `type` (a collection without `name`). */
export function resourcePath(
  type: ResourceType,
  namespace: string | undefined,
  name?: string,
): string {
  const base = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  return `${base}${namespace ? `/namespaces/${namespace}` : ''}/${type.plural}${name ? `/${name}` : ''}`;
}

/**
 * The bridge's few writes and reads, over one keep-alive connection pool. client-node 1.x builds a
 * new TLS context and connection for every request, which would be most of the bridge's CPU per event.
 * Credentials are applied per request, so rotated service-account tokens are picked up. A request
 * unanswered within `timeoutMs` fails, so no worker (or lease renewal) waits forever.
 */
export class ApiClient {
  private agent: Agent | undefined;
  /** One TLS context for every connection: making one per connection costs more than the request. */
  private secureContext: SecureContext | undefined;
  private readonly server: URL;

  constructor(private readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig: no current cluster');
    this.server = new URL(cluster.server);
  }

  async send(
    method: keyof typeof CONTENT_TYPES,
    path: string,
    body?: JsonObject,
    timeoutMs = 10_000,
  ): Promise<JsonObject> {
    return JSON.parse(await this.exchange(method, path, body, timeoutMs)) as JsonObject;
  }

  /** The answer's text; throws ApiError on anything but 2xx. */
  private async exchange(
    method: keyof typeof CONTENT_TYPES,
    path: string,
    body: JsonObject | undefined,
    timeoutMs: number,
  ): Promise<string> {
    const contentType = CONTENT_TYPES[method];
    const options: RequestOptions = {
      method,
      host: this.server.hostname,
      port: Number(this.server.port) || 443,
      path,
      timeout: timeoutMs,
      headers: {
        accept: 'application/json',
        ...(contentType ? { 'content-type': contentType } : {}),
      },
    };
    await this.kubeConfig.applyToHTTPSOptions(options);
    this.secureContext ??= createSecureContext({
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.cert ? { cert: options.cert } : {}),
      ...(options.key ? { key: options.key } : {}),
    });
    (options as RequestOptions & { secureContext?: SecureContext }).secureContext =
      this.secureContext;
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
          if (code >= 200 && code < 300) resolve(text);
          else reject(new ApiError(code, text));
        });
      });
      req.on('timeout', () =>
        req.destroy(new Error(`API server: no answer within ${timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent?.destroy();
  }
}

/** GET that answers undefined for 404. */
export async function getObject(
  api: Pick<ApiClient, 'send'>,
  path: string,
): Promise<JsonObject | undefined> {
  try {
    return await api.send('GET', path);
  } catch (error) {
    if (error instanceof ApiError && error.code === 404) return undefined;
    throw error;
  }
}
