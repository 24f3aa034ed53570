import { X509Certificate } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import {
  FunctionRunnerServiceService,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import type { Logger } from 'pino';
import { AbandonedError, Admission, BusyError, type AdmissionLimits } from './admission.js';
import { DecodeError } from '../codec/errors.js';
import { decodeRunFunctionRequest, encodeRunFunctionResponse } from '../codec/messages.js';
import { bytesService } from './bytes-service.js';
import { describeError, internalErrorResponse } from './fatal.js';

export type RunFunction = (req: RunFunctionRequest) => Promise<RunFunctionResponse>;

export interface FunctionServerOptions {
  /** host:port; port 0 picks a free port. */
  address: string;
  credentials: grpc.ServerCredentials;
  /** With mTLS: the clients accepted; each connection's certificate is checked against it. */
  clients?: ClientCertificates;
  maxRecvMessageBytes: number;
  admission: AdmissionLimits;
  logger: Logger;
  /** Values a request's input may equal, which it then is without being decoded. */
  knownInputs?: () => readonly object[];
}

const V1_PATH = FunctionRunnerServiceService.runFunction.path;

/** Starts a gRPC server that answers RunFunction on both proto packages; resolves once bound. */
export async function startFunctionServer(
  run: RunFunction,
  options: FunctionServerOptions,
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxRecvMessageBytes,
    // Nothing reads channelz, and its bookkeeping costs something on every call.
    'grpc.enable_channelz': 0,
  });
  const admission = new Admission(options.admission);
  const knownInputs = options.knownInputs ?? (() => []);
  const answer = (bytes: Buffer) => answerRequest(bytes, run, knownInputs, options.logger);
  const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, reply) => {
    // grpc-js emits 'cancelled' at the end of every call, so this listens only while waiting.
    const onCancel = (withdraw: () => void) => {
      call.once('cancelled', withdraw);
      return () => call.off('cancelled', withdraw);
    };
    admission
      .run(call.request.length, () => answer(call.request), onCancel)
      .then(
        (rsp) => reply(null, rsp),
        (error: unknown) => {
          if (error instanceof AbandonedError) return;
          if (error instanceof BusyError) {
            reply({ code: grpc.status.RESOURCE_EXHAUSTED, details: error.message });
          } else if (error instanceof DecodeError) {
            reply({
              code: grpc.status.INVALID_ARGUMENT,
              details: `cannot decode the RunFunctionRequest: ${error.message}`,
            });
          } else {
            // Unreachable unless the decoder itself is broken: everything after decoding answers.
            options.logger.error(
              { error: describeError(error) },
              'RunFunction could not be answered',
            );
            reply({ code: grpc.status.INTERNAL, details: 'internal error' });
          }
        },
      );
  };
  server.addService(bytesService(V1_PATH), { runFunction: handler });
  // Crossplane up to 1.16 calls the same service under the v1beta1 package.
  server.addService(bytesService(V1_PATH.replace('.v1.', '.v1beta1.')), { runFunction: handler });
  const { clients, logger } = options;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(options.address, options.credentials, (error, boundPort) => {
      if (error) return reject(error);
      // Before any connection is accepted: the listeners are set up, nothing was read yet.
      if (clients) checkClientsOf(server, clients, logger);
      resolve(boundPort);
    });
  });
  return { server, port };
}

/**
 * Decodes, runs and encodes one request. Only undecodable bytes are an error (a DecodeError);
 * whatever fails after that is answered with a Fatal result, on which Crossplane applies nothing.
 */
async function answerRequest(
  bytes: Buffer,
  run: RunFunction,
  knownInputs: () => readonly object[],
  logger: Logger,
): Promise<Buffer> {
  const answer = await respond(bytes, run, knownInputs());
  // Only now, with what `respond` decoded out of reach: a failure decodes the request afresh.
  return Buffer.isBuffer(answer) ? answer : internalError(bytes, answer, logger);
}

interface Failure {
  what: string;
  error: unknown;
}

async function respond(
  bytes: Buffer,
  run: RunFunction,
  knownInputs: readonly object[],
): Promise<Buffer | Failure> {
  const req = decodeRunFunctionRequest(bytes, knownInputs);
  let rsp: RunFunctionResponse;
  try {
    rsp = await run(req);
  } catch (error) {
    return { what: 'RunFunction failed', error };
  }
  try {
    return encodeRunFunctionResponse(rsp);
  } catch (error) {
    return { what: 'cannot encode the response', error };
  }
}

function internalError(bytes: Buffer, { what, error }: Failure, logger: Logger): Buffer {
  // Decoded afresh: the SDK's `to(req)` shares the request's desired state with the response,
  // so what failed may have changed it.
  const req = decodeRunFunctionRequest(bytes);
  return encodeRunFunctionResponse(internalErrorResponse(req, what, error, logger));
}

/**
 * Requires a client certificate on every TLS connection and leaves judging it to
 * checkClientsOf(): Node's TLS (OpenSSL) refuses the certificates Crossplane issues. Crossplane
 * gives its CA and every certificate it signs with it the same subject (O=Crossplane,
 * CN=Crossplane) and no authority key identifier, so OpenSSL takes each for self-signed
 * ("self-signed certificate") instead of looking for its issuer.
 */
class ClientCertificateRequired extends grpc.ServerCredentials {
  constructor(cert: Buffer, key: Buffer) {
    super({ requestCert: true, rejectUnauthorized: false }, { cert, key });
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * The client certificates a function accepts: valid now, for client authentication where the
 * certificate says what it is for, and signed by the CA, as function-sdk-go checks them. The
 * certificates seen are remembered (a few, as Crossplane uses one per process).
 */
export class ClientCertificates {
  private readonly accepted = new Map<string, number>();

  constructor(private readonly ca: X509Certificate) {}

  /** Why `peer` (DER) is refused, or undefined when it is accepted. */
  problem(peer: Buffer | undefined, now = Date.now()): string | undefined {
    if (!peer || peer.length === 0) return 'a client certificate is required';
    const key = peer.toString('base64');
    const until = this.accepted.get(key);
    if (until !== undefined && now < until) return undefined;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(peer);
    } catch {
      return 'the client certificate cannot be read';
    }
    if (cert.issuer !== this.ca.subject || !cert.verify(this.ca.publicKey)) {
      return "the client certificate is not signed by the function's CA";
    }
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) {
      return 'the client certificate is not valid now';
    }
    if (cert.keyUsage !== undefined && !cert.keyUsage.includes(CLIENT_AUTH)) {
      return 'the client certificate is not for client authentication';
    }
    if (this.accepted.size >= 16) this.accepted.clear();
    this.accepted.set(key, Date.parse(cert.validTo));
    return undefined;
  }
}

/** The extended key usage of TLS clients. */
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * Closes every TLS connection of `server` whose client certificate `clients` refuses, as soon
 * as its handshake is done, before it carries a request: what OpenSSL would do for a CA it could
 * read. grpc-js gives its HTTP/2 servers no public hook, hence its `http2Servers`.
 */
function checkClientsOf(server: grpc.Server, clients: ClientCertificates, logger: Logger): void {
  const servers = (server as unknown as { http2Servers?: Map<EventEmitter, unknown> }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) {
    throw new Error('cannot check client certificates: grpc-js keeps no http2Servers');
  }
  for (const http2Server of servers.keys()) {
    http2Server.prependListener('secureConnection', (socket: TLSSocket) => {
      const problem = clients.problem(socket.getPeerCertificate().raw);
      if (problem) {
        logger.warn({ remote: socket.remoteAddress, problem }, 'client refused');
        socket.destroy();
      }
    });
  }
}

/**
 * mTLS from a directory holding tls.key, tls.crt and ca.crt: the server's credentials and the
 * check of its clients' certificates, made on every connection. Unlike the SDK's,
 * they require and verify a client certificate, as function-sdk-go does.
 */
export async function mutualTls(
  directory: string,
): Promise<{ credentials: grpc.ServerCredentials; clients: ClientCertificates }> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  // One after the other, so that a missing file is named the same way every time.
  const key = await readFile(join(directory, 'tls.key'));
  const cert = await readFile(join(directory, 'tls.crt'));
  const ca = await readFile(join(directory, 'ca.crt'));
  return {
    credentials: new ClientCertificateRequired(cert, key),
    clients: new ClientCertificates(new X509Certificate(ca)),
  };
}
