import type { Logger } from 'pino';
import type { CDEvent } from './cdevents.js';
import { encode, post, sinkAgents, toCloudEvent, type Mode } from './cloudevents.js';
import type { Metrics } from '../kube/metrics.js';

export interface EmitterOptions {
  defaultSink?: string;
  extensions: Record<string, string>;
  mode: Mode;
  ca?: string;
  timeoutMs: number;
}

/** Only scheme, host and path: a sink URL may carry credentials, which are never logged. */
export function redactedSink(sink: string): string {
  const url = new URL(sink);
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Sends one event to `sink`, or K_SINK's when undefined; throws when it is not delivered. */
export interface Emit {
  (event: CDEvent, sink: string | undefined): Promise<void>;
}

/** Sends CDEvents as CloudEvents to the environment's sink, or K_SINK; throws when undelivered. */
export function createEmitter(options: EmitterOptions, metrics: Metrics, logger: Logger): Emit {
  const agents = sinkAgents(options.ca);
  return async (event: CDEvent, sink: string | undefined): Promise<void> => {
    const type = event.context.type;
    const target = sink ?? options.defaultSink;
    if (!target) {
      metrics.unsent.inc({ type });
      logger.warn({ type, id: event.context.id }, 'no sink configured: event recorded, not sent');
      return;
    }
    const message = encode(toCloudEvent(event, options.extensions), options.mode);
    const stop = metrics.deliverySeconds.startTimer({ type });
    try {
      await post(target, message, { timeoutMs: options.timeoutMs, agents });
      stop();
      metrics.emitted.inc({ type });
    } catch (error) {
      metrics.failed.inc({ type });
      logger.warn(
        { type, id: event.context.id, sink: redactedSink(target), err: (error as Error).message },
        'delivery failed',
      );
      throw error;
    }
  };
}
