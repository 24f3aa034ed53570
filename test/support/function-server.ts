import * as grpc from '@grpc/grpc-js';
import {
  FunctionRunnerServiceService,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { pino, type Logger } from 'pino';
import { admissionLimits, type AdmissionLimits } from '../../function/admission.js';
import { runFunction } from '../../function/run-function.js';
import { startFunctionServer, type RunFunction } from '../../function/server.js';

export interface FunctionClient {
  call(req: RunFunctionRequest): Promise<RunFunctionResponse>;
  close(): void;
}

export interface RunningFunction extends FunctionClient {
  address: string;
  stop(): Promise<void>;
}

type RunFunctionClient = grpc.Client & {
  runFunction(
    req: RunFunctionRequest,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, rsp: RunFunctionResponse) => void,
  ): void;
};

/** A RunFunction client for the given proto package (Crossplane ≤ 1.16 calls v1beta1). */
export function connectFunction(
  address: string,
  credentials: grpc.ChannelCredentials,
  protoPackage: 'v1' | 'v1beta1' = 'v1',
  options: grpc.ClientOptions = {},
): FunctionClient {
  // The SDK exports the service definition but not its generated client.
  const definition = {
    runFunction: {
      ...FunctionRunnerServiceService.runFunction,
      path: `/apiextensions.fn.proto.${protoPackage}.FunctionRunnerService/RunFunction`,
    },
  };
  const Client = grpc.makeGenericClientConstructor(
    definition as unknown as grpc.ServiceDefinition,
    'FunctionRunnerService',
  ) as unknown as new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options: grpc.ClientOptions,
  ) => RunFunctionClient;
  // Verify the server as "localhost" (in its certificate): TLS forbids an IP as server name.
  const client = new Client(address, credentials, {
    'grpc.ssl_target_name_override': 'localhost',
    ...options,
  });
  return {
    call: (req) =>
      new Promise((resolve, reject) => {
        client.runFunction(req, { deadline: Date.now() + 10_000 }, (error, rsp) =>
          error ? reject(error) : resolve(rsp),
        );
      }),
    close: () => client.close(),
  };
}

/**
 * Starts the function server on a free loopback port and connects a client to it: the real
 * RunFunction, unless the test brings its own.
 */
export async function startFunction(
  options: {
    serverCredentials?: grpc.ServerCredentials;
    clientCredentials?: grpc.ChannelCredentials;
    maxRecvMessageBytes?: number;
    run?: RunFunction;
    admission?: AdmissionLimits;
    logger?: Logger;
  } = {},
): Promise<RunningFunction> {
  const maxRecvMessageBytes = options.maxRecvMessageBytes ?? 4 * 1024 * 1024;
  const { server, port } = await startFunctionServer(options.run ?? ((req) => runFunction(req)), {
    address: '127.0.0.1:0',
    credentials: options.serverCredentials ?? grpc.ServerCredentials.createInsecure(),
    maxRecvMessageBytes,
    admission: options.admission ?? admissionLimits(2 ** 31, maxRecvMessageBytes),
    logger: options.logger ?? pino({ level: 'silent' }),
  });
  const address = `127.0.0.1:${port}`;
  const client = connectFunction(
    address,
    options.clientCredentials ?? grpc.credentials.createInsecure(),
    'v1',
    { 'grpc.max_send_message_length': 64 * 1024 * 1024 },
  );
  return {
    address,
    ...client,
    stop: async () => {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}
