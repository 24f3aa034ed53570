import { getHeapStatistics } from 'node:v8';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { admissionLimits } from './server/admission.js';
import { knownInputs, runFunction } from './run-function.js';
import { mutualTls, startFunctionServer } from './server/server.js';

/** Where Crossplane reaches the function in its pod: mTLS on every interface. */
const MTLS_ADDRESS = '0.0.0.0:9443';
/** Plaintext is for local development only, so it stays on this machine unless told otherwise. */
const PLAINTEXT_ADDRESS = '127.0.0.1:9443';
const CERTS_DIR = '/tls/server';
const MAX_RECV_MIB = 4;

interface Flag {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in the help. */
  value?: string;
  help: string;
  /** The default as the help states it, when there is one. */
  defaultText?: string;
}

const FLAGS = {
  address: {
    type: 'string',
    value: '<host:port>',
    help: 'Where to listen for gRPC.',
    defaultText: `${MTLS_ADDRESS}, or ${PLAINTEXT_ADDRESS} with --insecure`,
  },
  insecure: { type: 'boolean', help: 'Serve plaintext, without mTLS (local development only).' },
  'tls-server-certs-dir': {
    type: 'string',
    value: '<dir>',
    help: 'tls.key, tls.crt and ca.crt.',
    defaultText: `$TLS_SERVER_CERTS_DIR, or ${CERTS_DIR}`,
  },
  'max-recv-message-size': {
    type: 'string',
    value: '<MiB>',
    help: 'Largest request accepted.',
    defaultText: String(MAX_RECV_MIB),
  },
  debug: { type: 'boolean', short: 'd', help: 'Debug logs.' },
  help: { type: 'boolean', short: 'h', help: 'Show this help.' },
} as const satisfies Record<string, Flag>;

function helpText(): string {
  const rows = Object.entries(FLAGS as Record<string, Flag>).map(([name, flag]) => {
    const names = `${flag.short ? `-${flag.short}, ` : ''}--${name}${flag.value ? ` ${flag.value}` : ''}`;
    const help = flag.defaultText ? `${flag.help} Default: ${flag.defaultText}.` : flag.help;
    return `  ${names.padEnd(32)} ${help}`;
  });
  return [
    'Usage: function-xenvironment [flags]',
    '',
    'Renders XEnvironments: a cluster plus Helm-installed tools from the Catalog input.',
    '',
    'Flags:',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: FLAGS });
  if (values.help) {
    console.log(helpText());
    return;
  }
  const logger = pino({ level: values.debug ? 'debug' : 'info' });
  const maxMiB = Number(values['max-recv-message-size'] ?? MAX_RECV_MIB);
  if (!Number.isInteger(maxMiB) || maxMiB < 1) {
    throw new Error(
      `--max-recv-message-size: ${values['max-recv-message-size']} is not a whole number of MiB ≥ 1`,
    );
  }
  const maxRecvMessageBytes = maxMiB * 1024 * 1024;
  const mtls = !values.insecure;
  const address = values.address ?? (mtls ? MTLS_ADDRESS : PLAINTEXT_ADDRESS);
  const tls = mtls
    ? await mutualTls(
        values['tls-server-certs-dir'] ?? (process.env.TLS_SERVER_CERTS_DIR || CERTS_DIR),
      )
    : { credentials: grpc.ServerCredentials.createInsecure() };
  const admission = admissionLimits(getHeapStatistics().heap_size_limit, maxRecvMessageBytes);
  const { server, port } = await startFunctionServer((req) => runFunction(req, { logger }), {
    address,
    ...tls,
    maxRecvMessageBytes,
    admission,
    logger,
    knownInputs,
  });
  logger.info({ address, port, mtls, admission }, 'function listening');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      server.tryShutdown(() => process.exit(0));
    });
  }
}

main().catch((error: unknown) => {
  console.error(`function-xenvironment: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
