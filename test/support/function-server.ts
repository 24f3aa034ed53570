import * as grpc from '@grpc/grpc-js';
import {
  FunctionRunnerServiceService,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { pino } from 'pino';
import { runFunction } from '../../function/run-function.js';
import { startFunctionServer } from '../../function/server.js';

// The SDK exports the service definition but not its generated client.
const FunctionRunnerClient = grpc.makeGenericClientConstructor(
  FunctionRunnerServiceService as unknown as grpc.ServiceDefinition,
  'FunctionRunnerService',
) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options: grpc.ClientOptions,
) => grpc.Client & {
  runFunction(
    req: RunFunctionRequest,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, rsp: RunFunctionResponse) => void,
  ): void;
};

export interface RunningFunction {
  address: string;
  call(req: RunFunctionRequest): Promise<RunFunctionResponse>;
  stop(): Promise<void>;
}

/** Starts the real function server on a free loopback port and connects a client to it. */
export async function startFunction(
  serverCredentials = grpc.ServerCredentials.createInsecure(),
  clientCredentials = grpc.credentials.createInsecure(),
  clientOptions: grpc.ClientOptions = {},
): Promise<RunningFunction> {
  const { server, port } = await startFunctionServer((req) => runFunction(req), {
    address: '127.0.0.1:0',
    credentials: serverCredentials,
    maxRecvMessageBytes: 4 * 1024 * 1024,
    logger: pino({ level: 'silent' }),
  });
  const address = `127.0.0.1:${port}`;
  const client = new FunctionRunnerClient(address, clientCredentials, clientOptions);
  return {
    address,
    call: (req) =>
      new Promise((resolve, reject) => {
        client.runFunction(
          req,
          { deadline: Date.now() + 10_000 },
          (error: grpc.ServiceError | null, rsp: RunFunctionResponse) =>
            error ? reject(error) : resolve(rsp),
        );
      }),
    stop: async () => {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}
