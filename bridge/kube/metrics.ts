import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly emitted = new Counter({
    name: 'xenvironment_bridge_events_emitted_total',
    help: 'CDEvents delivered to a sink, by type.',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly failed = new Counter({
    name: 'xenvironment_bridge_events_failed_total',
    help: 'Delivery attempts that failed (to be retried), by type.',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly unsent = new Counter({
    name: 'xenvironment_bridge_events_unsent_total',
    help: 'CDEvents recorded without delivery because there was no usable sink, by type.',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'xenvironment_bridge_queue_depth',
    help: 'Environments waiting to be reconciled.',
    registers: [this.registry],
  });
  readonly recordsInvalid = new Counter({
    name: 'xenvironment_bridge_records_invalid_total',
    help: 'Record annotations found invalid and rebuilt from what was observed.',
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'xenvironment_bridge_leader',
    help: '1 while this bridge holds the lease and reconciles, else 0.',
    registers: [this.registry],
  });
  readonly deliverySeconds = new Histogram({
    name: 'xenvironment_bridge_delivery_seconds',
    help: 'Time to deliver one CloudEvent to the sink.',
    labelNames: ['type'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
}
