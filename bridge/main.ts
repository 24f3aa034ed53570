/**
 * The bridge: XEnvironment readiness → CDEvents; expiry; environments requested by events.
 * Settings come from the environment only. Wiring only: what is built, served and stopped.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { kindAndName } from '../common/objects.js';
import { loadConfig, type BridgeConfig } from './config.js';
import { createEmitter, redactedSink } from './delivery/emitter.js';
import { inboundHandler } from './inbound/endpoint.js';
import { KubeObjects } from './inbound/objects.js';
import { Journal, JournalMoved } from './announce/journal-shards.js';
import { JOURNAL_KEY } from './announce/journal.js';
import { ApiClient, ApiError } from './kube/api.js';
import { ConfigMapTexts } from './kube/configmaps.js';
import { Discovery } from './kube/discovery.js';
import { LeaderElector } from './kube/elector.js';
import { CompositeInformers } from './kube/informers.js';
import { Metrics } from './kube/metrics.js';
import { WorkQueue } from './kube/queue.js';
import { KubeClaims } from './lifecycle/claims.js';
import { kubeStore, Reconciler } from './reconciler.js';

const NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
/** How long a graceful stop waits for records to be checkpointed: well within a pod's 30 s. */
const STOP_SETTLE_MS = 10_000;
/** How long the journal's lazy changes (entries the XRs hold now) wait for a write to share. */
const JOURNAL_LAZY_MS = 1_000;
const JOURNAL_RETRY_MS = 2_000;

/** Everything the bridge runs, built and not started yet. */
interface Bridge {
  config: BridgeConfig;
  logger: Logger;
  metrics: Metrics;
  informers: CompositeInformers;
  reconciler: Reconciler;
  queue: WorkQueue;
  elector: LeaderElector;
  gate: Gate;
  /** Claims and the inbound kind are read and written directly, not through informers. */
  claimsApi: ApiClient;
  leaseApi: ApiClient;
  journalApi: ApiClient;
  discovery: Discovery;
}

/**
 * Reconcile only as leader, only on complete caches, and only once the journal is read (it may
 * hold what the last leader planned); followers keep their caches warm.
 */
class Gate {
  private synced = false;
  private leading = false;
  private journal: 'unread' | 'reading' | 'read' = 'unread';

  constructor(
    private readonly queue: WorkQueue,
    private readonly readJournal: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  set(change: { synced?: boolean; leading?: boolean }): void {
    this.synced = change.synced ?? this.synced;
    this.leading = change.leading ?? this.leading;
    const open = this.synced && this.leading;
    if (open && this.journal === 'unread') void this.read();
    if (open && this.journal === 'read') this.queue.resume();
    else this.queue.pause();
  }

  private async read(): Promise<void> {
    this.journal = 'reading';
    for (;;) {
      try {
        await this.readJournal();
        this.journal = 'read';
        this.set({});
        return;
      } catch (error) {
        this.logger.warn({ err: (error as Error).message }, 'journal not read; retrying');
        await new Promise((resolve) => setTimeout(resolve, JOURNAL_RETRY_MS));
      }
    }
  }
}

function serviceAccountNamespace(): string | undefined {
  try {
    return readFileSync(NAMESPACE_FILE, 'utf8');
  } catch {
    return undefined;
  }
}

function build(config: BridgeConfig): Bridge {
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
  const informers = new CompositeInformers(kubeConfig, config.composites, config.composed, logger);
  const claimsApi = new ApiClient(kubeConfig);
  const discovery = new Discovery(claimsApi);
  const journalApi = new ApiClient(kubeConfig);
  const journal = new Journal(new ConfigMapTexts(journalApi, config.lease.namespace, JOURNAL_KEY), {
    windowMs: config.journalWindowMs,
    lazyMs: JOURNAL_LAZY_MS,
    logger,
  });
  const reconciler = new Reconciler(
    kubeStore(informers),
    new KubeClaims(claimsApi, discovery),
    emit,
    journal,
    {
      source: config.source,
      sinkAllow: config.sinkAllow,
      expiryWarningMs: config.expiryWarningMs,
      logger,
      onInvalidRecord: () => metrics.recordsInvalid.inc(),
    },
  );
  const queue = new WorkQueue(
    (key) => reconciler.reconcile(key),
    {
      workers: config.workers,
      retryBaseMs: config.retryBaseMs,
      retryMaxMs: config.retryMaxMs,
      retryRate: config.retryRate,
      lowPriorityRate: config.settleRate,
      // A conflict: someone wrote the XR (or a journal shard) since it was read. Run again on
      // what was read again.
      immediate: (error) =>
        (error instanceof ApiError && error.code === 409) || error instanceof JournalMoved,
    },
    (key, error, retryInMs) => {
      const xr = informers.composite(key);
      logger.warn(
        { xr: xr ? kindAndName(xr) : key, err: (error as Error).message, retryInMs },
        'reconcile failed; will retry',
      );
    },
  );
  const gate = new Gate(
    queue,
    async () => {
      for (const key of await reconciler.loadJournal()) queue.add(key);
    },
    logger,
  );
  const leaseApi = new ApiClient(kubeConfig);
  const elector = new LeaderElector(
    leaseApi,
    config.lease,
    () => {
      metrics.leader.set(1);
      gate.set({ leading: true });
    },
    () => {
      // As controller-runtime does: a leader that may have been replaced must not act again.
      metrics.leader.set(0);
      gate.set({ leading: false });
      process.exit(1);
    },
    logger,
  );
  return {
    config,
    logger,
    metrics,
    informers,
    reconciler,
    queue,
    elector,
    gate,
    claimsApi,
    leaseApi,
    journalApi,
    discovery,
  };
}

/** /healthz, /readyz and /metrics. */
function probesAndMetrics({ informers, metrics, queue }: Bridge): Server {
  return createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200).end('ok');
    } else if (req.url === '/readyz') {
      // Ready means caches synced, leader or not: the pod is the function's too.
      const ready = informers.ready;
      res.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'informers not synced');
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
}

/** The inbound endpoint, if it has an address. */
function inboundServer({ config, claimsApi, discovery, logger }: Bridge): Server | undefined {
  const { inbound } = config;
  if (!inbound.address) return undefined;
  // Every replica serves it, leader or not: each write is guarded, each event recorded on its claim.
  return createServer(
    inboundHandler(new KubeObjects(claimsApi, discovery, inbound.resource), {
      namespaces: inbound.namespaces,
      sinkAllow: config.sinkAllow,
      ...(inbound.token ? { token: inbound.token } : {}),
      source: config.source,
      logger,
      onCreate: inbound.onCreate,
    }),
  );
}

function listen(server: Server, address: { host: string; port: number }): Promise<void> {
  return new Promise((resolve) => server.listen(address.port, address.host, resolve));
}

const portOf = (server: Server) => (server.address() as { port: number }).port;

/** Serves, elects and watches until a signal stops it. */
async function serve(bridge: Bridge): Promise<void> {
  const { config, logger, queue, gate, informers, elector } = bridge;
  const http = probesAndMetrics(bridge);
  await listen(http, config.httpAddress);
  const inbound = inboundServer(bridge);
  if (inbound && config.inbound.address) await listen(inbound, config.inbound.address);

  const running = queue.run();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'stopping: finishing deliveries in flight, checkpointing records');
      void stop(bridge, running, [http, inbound]).then(() => process.exit(0));
    });
  }
  elector.start();
  await informers.start({
    changed: (key) => queue.add(key),
    synced: (synced) => {
      logger.info({ synced }, synced ? 'caches synced' : 'caches incomplete: reconciling paused');
      gate.set({ synced });
    },
  });
  logger.info(
    {
      sink: config.defaultSink ? redactedSink(config.defaultSink) : null,
      composites: config.composites.map((t) => `${t.group}/${t.version}/${t.plural}`),
      http: `${config.httpAddress.host}:${portOf(http)}`,
      inbound: inbound ? { port: portOf(inbound), namespaces: config.inbound.namespaces } : null,
      identity: config.lease.identity,
    },
    'bridge started',
  );
}

/**
 * A graceful stop: every record checkpointed onto its XR (within STOP_SETTLE_MS), the queue
 * drained, the journal's entries dropped, the lease released for the next leader, then every
 * connection and server closed.
 */
async function stop(
  { reconciler, queue, elector, informers, leaseApi, claimsApi, journalApi, logger }: Bridge,
  running: Promise<void>,
  servers: (Server | undefined)[],
): Promise<void> {
  for (const key of reconciler.settleNow()) queue.add(key);
  await queue.quiet(STOP_SETTLE_MS);
  queue.stop();
  await running;
  await reconciler.flushJournal().catch((error: unknown) => {
    logger.warn({ err: (error as Error).message }, 'journal not written before stopping');
  });
  await elector.release();
  await informers.stop();
  leaseApi.close();
  claimsApi.close();
  journalApi.close();
  for (const server of servers) server?.close();
}

async function main(): Promise<void> {
  await serve(build(loadConfig(process.env, serviceAccountNamespace())));
}

main().catch((error: unknown) => {
  console.error(`xenvironment-bridge: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
