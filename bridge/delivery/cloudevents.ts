import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { CloudEvent, HTTP } from 'cloudevents';
import type { CDEvent } from './cdevents.js';

export type Mode = 'binary' | 'structured';

/**
 * The CDEvents CloudEvents binding: id, source and type are the context's, subject is subject.id,
 * time is context.timestamp, and the data is the whole CDEvent as application/json.
 */
export function toCloudEvent(
  event: CDEvent,
  extensions: Record<string, string> = {},
): CloudEvent<CDEvent> {
  return new CloudEvent<CDEvent>({
    ...extensions,
    id: event.context.id,
    source: event.context.source,
    type: event.context.type,
    subject: event.subject.id,
    time: event.context.timestamp,
    datacontenttype: 'application/json',
    data: event,
  });
}

export function encode(
  event: CloudEvent<CDEvent>,
  mode: Mode,
): { headers: Record<string, string>; body: string } {
  const message = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
  return { headers: message.headers as Record<string, string>, body: String(message.body) };
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface PostOptions {
  timeoutMs: number;
  /** Keep-alive connection pools, from sinkAgents(). */
  agents?: SinkAgents;
}

export interface SinkAgents {
  http: HttpAgent;
  https: HttpsAgent;
}

/** Connection pools that stay open between events; `ca` (K_CA_CERTS) adds to the system CAs. */
export function sinkAgents(ca?: string): SinkAgents {
  return {
    http: new HttpAgent({ keepAlive: true }),
    https: new HttpsAgent({ keepAlive: true, ...(ca ? { ca: [...rootCertificates, ca] } : {}) }),
  };
}

/**
 * POSTs one message. Unlike the cloudevents package's httpTransport, which resolves even on a 500,
 * anything but a 2xx answer is a failure.
 */
export function post(
  sink: string,
  message: { headers: Record<string, string>; body: string },
  options: PostOptions,
): Promise<number> {
  const url = new URL(sink);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: { ...message.headers, 'content-length': Buffer.byteLength(message.body) },
        timeout: options.timeoutMs,
        ...(options.agents
          ? { agent: url.protocol === 'https:' ? options.agents.https : options.agents.http }
          : {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(status);
          else reject(new DeliveryError(`sink answered ${status}`, status));
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new DeliveryError(`no answer within ${options.timeoutMs} ms`)),
    );
    req.on('error', (error) =>
      reject(error instanceof DeliveryError ? error : new DeliveryError(error.message)),
    );
    req.end(message.body);
  });
}
