import type { ServiceDefinition } from '@grpc/grpc-js';

/**
 * RunFunction at `path` with the request and response as protobuf bytes: the handler decodes a
 * request only once it is admitted (until then it is a Buffer) and encodes the response itself,
 * so that a response that cannot be encoded still becomes a Fatal result rather than a gRPC
 * error. Imports nothing but grpc-js's types, so the benchmark's grpc-js floor serves the same.
 */
export function bytesService(path: string): ServiceDefinition {
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
