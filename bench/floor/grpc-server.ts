/**
 * The floor of the function's start and memory: grpc-js answering RunFunction with an empty
 * response, nothing else. Bundled as the function is (bench/runtimes.ts).
 *
 *   node dist/bench/floor-grpc.mjs 127.0.0.1:<port>
 */
import * as grpc from '@grpc/grpc-js';
import { bytesService } from '../../function/server/bytes-service.js';

const server = new grpc.Server();
server.addService(bytesService('/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction'), {
  runFunction: (_call: unknown, reply: grpc.sendUnaryData<Buffer>) => reply(null, Buffer.alloc(0)),
});
server.bindAsync(process.argv[2]!, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error) throw error;
});
process.once('SIGTERM', () => process.exit(0));
