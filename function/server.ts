import * as grpc from '@grpc/grpc-js';
import {
  FunctionRunnerServiceService,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import type { Logger } from 'pino';
import { fatalResponse } from './run-function.js';

export type RunFunction = (req: RunFunctionRequest) => Promise<RunFunctionResponse>;

export interface FunctionServerOptions {
  /** host:port; port 0 picks a free port. */
  address: string;
  credentials: grpc.ServerCredentials;
  maxRecvMessageBytes: number;
  logger: Logger;
}

/** The same service under the v1beta1 package, which Crossplane up to 1.16 calls. */
const v1beta1Service: typeof FunctionRunnerServiceService = {
  runFunction: {
    ...FunctionRunnerServiceService.runFunction,
    path: '/apiextensions.fn.proto.v1beta1.FunctionRunnerService/RunFunction',
  },
} as unknown as typeof FunctionRunnerServiceService;

/** Starts a gRPC server that answers RunFunction on both proto packages; resolves once bound. */
export async function startFunctionServer(
  run: RunFunction,
  options: FunctionServerOptions,
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxRecvMessageBytes,
  });
  const handler: grpc.handleUnaryCall<RunFunctionRequest, RunFunctionResponse> = (call, reply) => {
    run(call.request)
      .catch((error: unknown) => {
        options.logger.error({ err: error }, 'RunFunction threw');
        return fatalResponse(call.request, `internal error: ${String(error)}`);
      })
      .then((rsp) => reply(null, rsp));
  };
  server.addService(FunctionRunnerServiceService, { runFunction: handler });
  server.addService(v1beta1Service, { runFunction: handler });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(options.address, options.credentials, (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    );
  });
  return { server, port };
}

/**
 * mTLS credentials from a directory holding tls.key, tls.crt and ca.crt. Unlike the SDK's, they
 * require and verify a client certificate, as function-sdk-go does.
 */
export async function mutualTlsCredentials(directory: string): Promise<grpc.ServerCredentials> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const [key, cert, ca] = await Promise.all(
    ['tls.key', 'tls.crt', 'ca.crt'].map((file) => readFile(join(directory, file))),
  );
  return grpc.ServerCredentials.createSsl(ca!, [{ private_key: key!, cert_chain: cert! }], true);
}
