import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { kindAndName } from '../common/objects.js';
import { ApiClient, ApiError } from './api.js';
import { KubeClaims } from './claims.js';
import { loadConfig } from './config.js';
import { Discovery } from './discovery.js';
import { LeaderElector } from './elector.js';
import { createEmitter, redactedSink } from './emitter.js';
import { inboundHandler, KubeObjects } from './inbound.js';
import { KubeStore } from './kube.js';
import { Metrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { Reconciler } from './reconciler.js';

const NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
/** How long a graceful stop waits for delivered outboxes to be cleared: well within a pod's 30 s. */
const STOP_SETTLE_MS = 10_000;

function serviceAccountNamespace(): string | undefined {
  try {
    return readFileSync(NAMESPACE_FILE, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The bridge: XEnvironment readiness → CDEvents; expiry; environments requested by events.
 * Settings come from the environment only.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env, serviceAccountNamespace());
  const logger = pino({ level: config.logLevel });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();

  const metrics = new Metrics();
  const emit = createEmitter(
    {
      ...(config.defaultSink ? { defaultSink: config.defaultSink } : {}),
      extensions: config.extensions,
      mode: config.mode,
      ...(config.ca ? { ca: config.ca } : {}),
      timeoutMs: config.sinkTimeoutMs,
    },
    metrics,
    logger,
  );
  // The queue's handler runs only once the store and reconciler below exist.
  const queue = new WorkQueue(
    (key) => reconciler.reconcile(key),
    {
      workers: config.workers,
      retryBaseMs: config.retryBaseMs,
      retryMaxMs: config.retryMaxMs,
      retryRate: config.retryRate,
      lowPriorityRate: config.settleRate,
      // A conflict: someone wrote the XR since it was read. Run again on what was re-read.
      immediate: (error) => error instanceof ApiError && error.code === 409,
    },
    (key, error, retryInMs) => {
      const xr = store.composite(key);
      logger.warn(
        { xr: xr ? kindAndName(xr) : key, err: (error as Error).message, retryInMs },
        'reconcile failed; will retry',
      );
    },
  );

  // Reconcile only as leader, and only on complete caches; followers keep their caches warm.
  let synced = false;
  let leading = false;
  const gate = () => (synced && leading ? queue.resume() : queue.pause());
  const store = new KubeStore(
    kubeConfig,
    config.composites,
    config.composed,
    (key) => queue.add(key),
    (ready) => {
      synced = ready;
      logger.info({ synced }, ready ? 'caches synced' : 'caches incomplete: reconciling paused');
      gate();
    },
    logger,
  );
  // Claims and the inbound kind are read and written directly, not through informers.
  const claimsApi = new ApiClient(kubeConfig);
  const discovery = new Discovery(claimsApi);
  const reconciler = new Reconciler(store, new KubeClaims(claimsApi, discovery), emit, {
    source: config.source,
    sinkAllow: config.sinkAllow,
    expiryWarningMs: config.expiryWarningMs,
    logger,
    onInvalidRecord: () => metrics.recordsInvalid.inc(),
  });
  const leaseApi = new ApiClient(kubeConfig);
  const elector = new LeaderElector(
    leaseApi,
    config.lease,
    () => {
      leading = true;
      metrics.leader.set(1);
      gate();
    },
    () => {
      // As controller-runtime does: a leader that may have been replaced must not act again.
      leading = false;
      metrics.leader.set(0);
      gate();
      process.exit(1);
    },
    logger,
  );

  const http = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200).end('ok');
    } else if (req.url === '/readyz') {
      // Ready means caches synced, leader or not: the pod is the function's too.
      res.writeHead(store.ready ? 200 : 503).end(store.ready ? 'ok' : 'informers not synced');
    } else if (req.url === '/metrics') {
      metrics.queueDepth.set(queue.depth);
      void metrics.registry
        .metrics()
        .then((body) =>
          res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) =>
    http.listen(config.httpAddress.port, config.httpAddress.host, resolve),
  );
  // Every replica serves it, leader or not: each write is guarded, each event recorded on its claim.
  const { inbound } = config;
  const inboundServer = inbound.address
    ? createServer(
        inboundHandler(new KubeObjects(claimsApi, discovery, inbound.resource), {
          namespaces: inbound.namespaces,
          ...(inbound.token ? { token: inbound.token } : {}),
          source: config.source,
          logger,
          onCreate: inbound.onCreate,
        }),
      )
    : undefined;
  if (inboundServer && inbound.address) {
    const { host, port } = inbound.address;
    await new Promise<void>((resolve) => inboundServer.listen(port, host, resolve));
  }

  const running = queue.run();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'stopping: finishing deliveries in flight, clearing outboxes');
      for (const key of reconciler.settleNow()) queue.add(key);
      void queue
        .quiet(STOP_SETTLE_MS)
        .then(() => {
          queue.stop();
          return running;
        })
        .then(() => elector.release())
        .then(() => store.stop())
        .then(() => {
          leaseApi.close();
          claimsApi.close();
          http.close();
          inboundServer?.close();
          process.exit(0);
        });
    });
  }
  elector.start();
  await store.start();
  logger.info(
    {
      sink: config.defaultSink ? redactedSink(config.defaultSink) : null,
      composites: config.composites.map((t) => `${t.group}/${t.version}/${t.plural}`),
      http: `${config.httpAddress.host}:${(http.address() as { port: number }).port}`,
      inbound: inboundServer
        ? {
            port: (inboundServer.address() as { port: number }).port,
            namespaces: inbound.namespaces,
          }
        : null,
      identity: config.lease.identity,
    },
    'bridge started',
  );
}

main().catch((error: unknown) => {
  console.error(`xenvironment-bridge: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
