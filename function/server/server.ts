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
import { describeError, internalErrorResponse } from './fatal.js';

export type RunFunction = (req: RunFunctionRequest) => Promise<RunFunctionResponse>;

export interface FunctionServerOptions {
  /** host:port; port 0 picks a free port. */
  address: string;
  credentials: grpc.ServerCredentials;
  maxRecvMessageBytes: number;
  admission: AdmissionLimits;
  logger: Logger;
}

const V1_PATH = FunctionRunnerServiceService.runFunction.path;

/**
 * RunFunction with the request and response as protobuf bytes: the handler decodes a request
 * only once it is admitted (until then it is a Buffer) and encodes the response itself, so that
 * a response that cannot be encoded still becomes a Fatal result rather than a gRPC error.
 */
function bytesService(path: string): grpc.ServiceDefinition {
  const bytes = (message: Buffer) => message;
  return {
    runFunction: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: bytes,
      requestDeserialize: bytes,
      responseSerialize: bytes,
      responseDeserialize: bytes,
    },
  };
}

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
  const answer = (bytes: Buffer) => answerRequest(bytes, run, options.logger);
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
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(options.address, options.credentials, (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    );
  });
  return { server, port };
}

/**
 * Decodes, runs and encodes one request. Only undecodable bytes are an error (a DecodeError);
 * whatever fails after that is answered with a Fatal result, on which Crossplane applies nothing.
 */
async function answerRequest(bytes: Buffer, run: RunFunction, logger: Logger): Promise<Buffer> {
  const answer = await respond(bytes, run);
  // Only now, with what `respond` decoded out of reach: a failure decodes the request afresh.
  return Buffer.isBuffer(answer) ? answer : internalError(bytes, answer, logger);
}

interface Failure {
  what: string;
  error: unknown;
}

async function respond(bytes: Buffer, run: RunFunction): Promise<Buffer | Failure> {
  const req = decodeRunFunctionRequest(bytes);
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
 * mTLS credentials from a directory holding tls.key, tls.crt and ca.crt. Unlike the SDK's, they
 * require and verify a client certificate, as function-sdk-go does.
 */
export async function mutualTlsCredentials(directory: string): Promise<grpc.ServerCredentials> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  // One after the other, so that a missing file is named the same way every time.
  const key = await readFile(join(directory, 'tls.key'));
  const cert = await readFile(join(directory, 'tls.crt'));
  const ca = await readFile(join(directory, 'ca.crt'));
  return grpc.ServerCredentials.createSsl(ca, [{ private_key: key, cert_chain: cert }], true);
}
