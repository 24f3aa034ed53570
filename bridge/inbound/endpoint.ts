/**
 * The inbound endpoint: CloudEvents (binary or structured, as a Knative Trigger delivers them)
 * that request or release environments. Every answer tells a broker what to do: 202 done (or
 * nothing to do), 400 invalid (not retried, the field named; a sink the bridge would not send to
 * included), 401 bad token, 403 namespace not
 * allowed, 409 not now (retried), 413 too large, 5xx the API server failed (retried).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTP } from 'cloudevents';
import type { Logger } from 'pino';
import { isObject, type JsonObject } from '../../common/objects.js';
import { ApiError } from '../kube/api.js';
import { actionFor, readInbound, type Inbound } from './environment-requests.js';
import type { Objects } from './objects.js';

export interface InboundOptions {
  /** Namespaces events may act in; `*` for any. */
  namespaces: readonly string[];
  /** Hosts a requested sink may name (the reconciler's: BRIDGE_SINK_ALLOW and K_SINK's host). */
  sinkAllow: readonly string[];
  token?: string;
  /** BRIDGE_SOURCE: events this bridge sent itself are never taken as requests. */
  source: string;
  logger: Logger;
  maxBytes?: number;
  /** Spec fields a created object gets besides the event's (see InboundConfig.composition). */
  onCreate?: JsonObject;
}

/** A claim with 200 tools and their values fits; anything much larger is not a request. */
const MAX_BYTES = 1024 * 1024;
/** Conflicts with other writers retried at once before the broker is asked to retry. */
const ATTEMPTS = 3;

class Answer {
  constructor(
    readonly status: number,
    readonly message: string,
  ) {}
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
    throw new Answer(413, `larger than ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new Answer(413, `larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one CloudEvent in either mode; anything else is a 400. */
function toEvent(
  req: IncomingMessage,
  body: string,
): { type: string; source: string; data?: unknown } {
  let event;
  try {
    event = HTTP.toEvent({ headers: req.headers as Record<string, string>, body });
  } catch (error) {
    throw new Answer(400, `not a CloudEvent: ${(error as Error).message}`);
  }
  if (Array.isArray(event)) throw new Answer(400, 'batched CloudEvents are not accepted');
  return event;
}

/** The endpoint's request handler: every request is answered, whatever happens. */
export function inboundHandler(objects: Objects, options: InboundOptions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, objects, options)
      .catch((error: unknown) => {
        if (error instanceof Answer) return error;
        // A bug, not the event's fault: answered, so that the process lives and the broker retries.
        options.logger.error({ err: (error as Error).stack }, 'inbound event failed');
        return new Answer(500, 'internal error');
      })
      .then((answer) => respond(res, answer));
  };
}

async function handle(
  req: IncomingMessage,
  objects: Objects,
  options: InboundOptions,
): Promise<Answer> {
  if (req.method !== 'POST') return new Answer(405, 'POST a CloudEvent');
  if (options.token && !tokenMatches(req.headers.authorization, options.token)) {
    return new Answer(401, 'a bearer token is required');
  }
  const received = toEvent(req, await readBody(req, options.maxBytes ?? MAX_BYTES));
  if (sentBy(options.source, received)) return new Answer(202, 'ignored: sent by this bridge');
  const inbound = readInbound(received, options.sinkAllow);
  if ('problem' in inbound) return new Answer(400, inbound.problem);
  if (!options.namespaces.includes('*') && !options.namespaces.includes(inbound.namespace)) {
    return new Answer(
      403,
      `namespace ${inbound.namespace} is not allowed (BRIDGE_INBOUND_NAMESPACES)`,
    );
  }
  try {
    const result = await apply(objects, inbound, options.onCreate);
    options.logger.info(
      {
        id: inbound.id,
        kind: inbound.kind,
        environment: `${inbound.namespace}/${inbound.name}`,
        result,
      },
      'inbound event',
    );
    return new Answer(202, result);
  } catch (error) {
    if (error instanceof Answer) return error;
    // The API server refuses what the event asks for (its schema, a CEL rule): the event's fault.
    if (error instanceof ApiError && error.code === 422) return new Answer(400, error.reason);
    options.logger.warn(
      { id: inbound.id, err: (error as Error).message },
      'inbound event not applied; the sender should retry',
    );
    return new Answer(error instanceof ApiError ? 502 : 503, (error as Error).message);
  }
}

/**
 * Its own announcements (a Trigger on requested events sees them too) are never requests; the
 * CDEvent's source counts as well, in case something re-sourced the CloudEvent.
 */
function sentBy(source: string, received: { source: string; data?: unknown }): boolean {
  const { data } = received;
  const cdeventSource = isObject(data) && isObject(data.context) ? data.context.source : undefined;
  return received.source === source || cdeventSource === source;
}

/** Applies `inbound` to the object it names; what was done, for the answer. */
async function apply(
  objects: Objects,
  inbound: Inbound,
  onCreate: JsonObject | undefined,
): Promise<string> {
  const kind = await objects.kind();
  for (let attempt = 1; ; attempt++) {
    const existing = await objects.get(inbound.namespace, inbound.name);
    const action = actionFor(inbound, existing, kind, onCreate);
    try {
      switch (action.do) {
        case 'nothing':
          return action.why;
        case 'later':
          throw new Answer(409, action.why);
        case 'create':
          await objects.create(inbound.namespace, action.object);
          return 'created';
        case 'patch':
          await objects.patch(inbound.namespace, inbound.name, action.patch);
          return 'updated';
        case 'delete': {
          const target = action.patch
            ? await objects.patch(inbound.namespace, inbound.name, action.patch)
            : existing!;
          const metadata = target.metadata as { uid: string; resourceVersion: string };
          await objects.delete(
            inbound.namespace,
            inbound.name,
            metadata.uid,
            metadata.resourceVersion,
          );
          return 'deleting';
        }
      }
    } catch (error) {
      // Someone else wrote (or created, or deleted) it meanwhile: decide again on what is there.
      const raced = error instanceof ApiError && (error.code === 409 || error.code === 404);
      if (!raced || attempt === ATTEMPTS) throw error;
    }
  }
}

function respond(res: ServerResponse, answer: Answer): void {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (answer.status === 401) headers['www-authenticate'] = 'Bearer';
  if (answer.status === 405) headers.allow = 'POST';
  const key = answer.status < 300 ? 'result' : 'error';
  res.writeHead(answer.status, headers).end(JSON.stringify({ [key]: answer.message }));
}
