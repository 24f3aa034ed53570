import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { runFunction } from './run-function.js';
import { mutualTlsCredentials, startFunctionServer } from './server.js';

const HELP = `Usage: function-xenvironment [flags]

Renders XEnvironments: a cluster plus Helm-installed tools from the Catalog input.

Flags:
  --address <host:port>          Where to listen for gRPC. Default 0.0.0.0:9443.
  --insecure                     Serve plaintext, without mTLS (local development only).
  --tls-server-certs-dir <dir>   tls.key, tls.crt and ca.crt. Default $TLS_SERVER_CERTS_DIR or /tls/server.
  --max-recv-message-size <MiB>  Largest request accepted. Default 4.
  -d, --debug                    Debug logs.
  -h, --help                     Show this help.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      address: { type: 'string', default: '0.0.0.0:9443' },
      insecure: { type: 'boolean', default: false },
      'tls-server-certs-dir': {
        type: 'string',
        default: process.env.TLS_SERVER_CERTS_DIR || '/tls/server',
      },
      'max-recv-message-size': { type: 'string', default: '4' },
      debug: { type: 'boolean', short: 'd', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const logger = pino({ level: values.debug ? 'debug' : 'info' });
  const maxMiB = Number(values['max-recv-message-size']);
  if (!Number.isInteger(maxMiB) || maxMiB < 1) {
    throw new Error(
      `--max-recv-message-size: ${values['max-recv-message-size']} is not a whole number of MiB ≥ 1`,
    );
  }
  const credentials = values.insecure
    ? grpc.ServerCredentials.createInsecure()
    : await mutualTlsCredentials(values['tls-server-certs-dir']);
  const { server, port } = await startFunctionServer((req) => runFunction(req, logger), {
    address: values.address,
    credentials,
    maxRecvMessageBytes: maxMiB * 1024 * 1024,
    logger,
  });
  logger.info({ address: values.address, port, mtls: !values.insecure }, 'function listening');
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
