import * as grpc from '@grpc/grpc-js';
import {
  FunctionRunnerServiceService,
  type RunFunctionRequest,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { pino, type Logger } from 'pino';
import { admissionLimits, type AdmissionLimits } from '../../function/server/admission.js';
import {
  decodeRunFunctionResponse,
  encodeRunFunctionRequest,
} from '../../function/codec/messages.js';
import { knownInputs, runFunction } from '../../function/run-function.js';
import { mutualTls, startFunctionServer, type RunFunction } from '../../function/server/server.js';

/** How a client writes requests and reads responses. */
export interface ClientCodec<Req, Rsp> {
  serialize(req: Req): Buffer;
  deserialize(bytes: Buffer): Rsp;
}

/** The SDK's generated codec: what the server is checked against. */
const SDK_CODEC: ClientCodec<RunFunctionRequest, RunFunctionResponse> = {
  serialize: FunctionRunnerServiceService.runFunction.requestSerialize,
  deserialize: FunctionRunnerServiceService.runFunction.responseDeserialize,
};
/** Ours, for messages deeper than the SDK can encode or decode. */
export const OWN_CODEC: ClientCodec<RunFunctionRequest, RunFunctionResponse> = {
  serialize: encodeRunFunctionRequest,
  deserialize: decodeRunFunctionResponse,
};
/** Protobuf bytes as they are, for requests no codec would write. */
export const BYTES: ClientCodec<Buffer, Buffer> = {
  serialize: (bytes) => bytes,
  deserialize: (bytes) => bytes,
};

export interface FunctionClient<Req = RunFunctionRequest, Rsp = RunFunctionResponse> {
  call(req: Req, timeoutMs?: number): Promise<Rsp>;
  close(): void;
}

export interface RunningFunction extends FunctionClient {
  address: string;
  stop(): Promise<void>;
}

type RunFunctionClient<Req, Rsp> = grpc.Client & {
  runFunction(
    req: Req,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, rsp: Rsp) => void,
  ): void;
};

const serverSideOnly = () => {
  throw new Error('a client neither reads requests nor writes responses');
};

/** A RunFunction client for the given proto package (Crossplane ≤ 1.16 calls v1beta1). */
export function connectFunction<Req = RunFunctionRequest, Rsp = RunFunctionResponse>(
  address: string,
  credentials: grpc.ChannelCredentials,
  protoPackage: 'v1' | 'v1beta1' = 'v1',
  options: grpc.ClientOptions = {},
  codec: ClientCodec<Req, Rsp> = SDK_CODEC as unknown as ClientCodec<Req, Rsp>,
): FunctionClient<Req, Rsp> {
  const definition: grpc.ServiceDefinition = {
    runFunction: {
      path: `/apiextensions.fn.proto.${protoPackage}.FunctionRunnerService/RunFunction`,
      requestStream: false,
      responseStream: false,
      requestSerialize: codec.serialize,
      responseDeserialize: codec.deserialize,
      requestDeserialize: serverSideOnly,
      responseSerialize: serverSideOnly,
    },
  };
  const Client = grpc.makeGenericClientConstructor(
    definition,
    'FunctionRunnerService',
  ) as unknown as new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options: grpc.ClientOptions,
  ) => RunFunctionClient<Req, Rsp>;
  // Verify the server as "localhost" (in its certificate): TLS forbids an IP as server name.
  const client = new Client(address, credentials, {
    'grpc.ssl_target_name_override': 'localhost',
    ...options,
  });
  return {
    call: (req, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        client.runFunction(req, { deadline: Date.now() + timeoutMs }, (error, rsp) =>
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
    /** mTLS (mutualTls()); plaintext without. */
    tls?: Awaited<ReturnType<typeof mutualTls>>;
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
    credentials: options.tls?.credentials ?? grpc.ServerCredentials.createInsecure(),
    ...(options.tls ? { clients: options.tls.clients } : {}),
    maxRecvMessageBytes,
    admission: options.admission ?? admissionLimits(2 ** 31, maxRecvMessageBytes),
    logger: options.logger ?? pino({ level: 'silent' }),
    knownInputs,
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
