import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Severity,
  Target,
  type RunFunctionResponse,
} from '@crossplane-org/function-sdk-typescript';
import { CLUSTER_KEY, HOST_NAMESPACE_KEY } from '../../common/contract.js';
import { encodeRunFunctionRequest } from '../../function/codec/messages.js';
import { runFunction } from '../../function/run-function.js';
import { mutualTls, type RunFunction } from '../../function/server/server.js';
import { deepList, deepStruct, depthOf } from '../support/big-values.js';
import { startMain } from '../support/function-binary.js';
import { capturedLogger } from '../support/logs.js';
import { freePort } from '../support/net.js';
import { createTestPki, type TestPki } from '../support/certificates.js';
import {
  BYTES,
  connectFunction,
  OWN_CODEC,
  startFunction,
  type RunningFunction,
} from '../support/function-server.js';
import { observedResource, request, shippedCatalog, xEnvironment } from '../support/requests.js';

let pki: TestPki;
let certsDir: string;
let catalog: Record<string, unknown>;

beforeAll(async () => {
  pki = createTestPki();
  certsDir = await mkdtemp(join(tmpdir(), 'xenv-tls-'));
  await writeFile(join(certsDir, 'tls.key'), pki.server.key);
  await writeFile(join(certsDir, 'tls.crt'), pki.server.cert);
  await writeFile(join(certsDir, 'ca.crt'), pki.ca.cert);
  catalog = await shippedCatalog();
});

const clientCredentials = (pair = pki.client) =>
  grpc.credentials.createSsl(
    Buffer.from(pki.ca.cert),
    Buffer.from(pair.key),
    Buffer.from(pair.cert),
  );
const newEnvironment = () => request(xEnvironment({ tools: [{ name: 'cert-manager' }] }), catalog);

describe('mTLS on loopback', () => {
  let fn: RunningFunction;
  beforeAll(async () => {
    fn = await startFunction({
      tls: await mutualTls(certsDir),
      clientCredentials: clientCredentials(),
    });
  });
  afterAll(() => fn.stop());

  // The client certificate has the CA's subject, as Crossplane's do: OpenSSL alone refuses it.
  it('answers a client with a certificate from the trusted CA, on v1 and v1beta1', async () => {
    const v1 = await fn.call(newEnvironment());
    expect(Object.keys(v1.desired!.resources)).toContain(HOST_NAMESPACE_KEY);
    const v1beta1 = connectFunction(fn.address, clientCredentials(), 'v1beta1');
    try {
      const rsp = await v1beta1.call(newEnvironment());
      expect(rsp.desired).toEqual(v1.desired);
    } finally {
      v1beta1.close();
    }
  });

  it('refuses a client without a certificate', async () => {
    const anonymous = connectFunction(
      fn.address,
      grpc.credentials.createSsl(Buffer.from(pki.ca.cert)),
    );
    try {
      await expect(anonymous.call(newEnvironment())).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
      });
    } finally {
      anonymous.close();
    }
  });

  it('refuses a client whose certificate another CA signed', async () => {
    const stranger = connectFunction(fn.address, clientCredentials(pki.stranger));
    try {
      await expect(stranger.call(newEnvironment())).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
      });
    } finally {
      stranger.close();
    }
  });
});

describe('message size', () => {
  const bigRequest = () => {
    // An XR the size of one with large tool values: past grpc-js's default 4 MiB.
    const req = newEnvironment();
    const spec = (req.observed!.composite!.resource as { spec: { tools: { values?: object }[] } })
      .spec;
    // Under a path the shipped catalogue lets claims set for cert-manager.
    spec.tools[0]!.values = { resources: { blob: 'x'.repeat(5 * 1024 * 1024) } };
    return req;
  };

  it('refuses requests over the limit and accepts them under a raised one', async () => {
    const small = await startFunction();
    const large = await startFunction({ maxRecvMessageBytes: 16 * 1024 * 1024 });
    try {
      await expect(small.call(bigRequest())).rejects.toMatchObject({
        code: grpc.status.RESOURCE_EXHAUSTED,
      });
      const rsp = await large.call(bigRequest());
      expect(rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL)).toBeUndefined();
    } finally {
      await small.stop();
      await large.stop();
    }
  });
});

describe('values nested deeper than the SDK could decode', () => {
  it('are answered and passed through, 100,000 levels deep; a claim gets a Fatal past 64', async () => {
    const fn = await startFunction();
    // The SDK's codec cannot write or read these either.
    const client = connectFunction(
      fn.address,
      grpc.credentials.createInsecure(),
      'v1',
      {},
      OWN_CODEC,
    );
    try {
      const withDeepDesired = (tools: Record<string, unknown>[]) => {
        const req = request(xEnvironment({ tools }), catalog, {
          cluster: observedResource('Release', { ready: true }),
        });
        req.desired!.resources.deep = {
          resource: { apiVersion: 'v1', kind: 'ConfigMap', data: { deep: deepList(100_000) } },
          connectionDetails: {},
          ready: 0,
        };
        return req;
      };
      const passedThrough = (rsp: RunFunctionResponse) =>
        depthOf((rsp.desired!.resources.deep!.resource!.data as { deep: unknown }).deep);

      const rsp = await client.call(withDeepDesired([{ name: 'cert-manager' }]));
      expect(rsp.results.filter((r) => r.severity === Severity.SEVERITY_FATAL)).toEqual([]);
      expect(passedThrough(rsp)).toBe(100_000);

      // Chart values have a depth bound of their own (the function walks them); the desired state
      // still passes through whole.
      const deepClaim = await client.call(
        withDeepDesired([{ name: 'cert-manager', values: { deep: deepStruct(100_000) } }]),
      );
      const [fatal] = deepClaim.results;
      expect(fatal).toMatchObject({ severity: Severity.SEVERITY_FATAL, reason: 'InvalidInput' });
      expect(fatal!.message).toMatch(
        /^spec\.tools\[0\]\.values\.deep(\.a)+: nested deeper than 64 levels$/,
      );
      expect(passedThrough(deepClaim)).toBe(100_000);
    } finally {
      client.close();
      await fn.stop();
    }
  });
});

/** A logger whose JSON lines the test reads. */
describe('failures', () => {
  it('answers bytes that are not a RunFunctionRequest with INVALID_ARGUMENT, saying why', async () => {
    const fn = await startFunction();
    const raw = connectFunction(fn.address, grpc.credentials.createInsecure(), 'v1', {}, BYTES);
    try {
      await expect(raw.call(Buffer.from([0x0a, 0x05, 0x0a]))).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
        details:
          'cannot decode the RunFunctionRequest: meta: length 5 at byte 1 runs past the end of its message at byte 3',
      });
      // The server goes on serving.
      const rsp = await raw.call(encodeRunFunctionRequest(newEnvironment()));
      expect(rsp.length).toBeGreaterThan(0);
    } finally {
      raw.close();
      await fn.stop();
    }
  });

  const cases: { name: string; run: RunFunction; message: RegExp }[] = [
    {
      name: 'an exception thrown right away',
      run: () => {
        throw new Error('boom');
      },
      message: /^internal error: RunFunction failed: boom$/,
    },
    {
      name: 'a rejection with something that cannot even be printed',
      run: () => Promise.reject(Object.create(null)),
      message: /^internal error: RunFunction failed: an unprintable object$/,
    },
    {
      name: 'a response that cannot be encoded, after changing the request',
      run: async (req) => {
        // What a function built with the SDK's to(req) does: its desired state is the request's.
        const rsp = { ...req, results: [], conditions: [] } as unknown as RunFunctionResponse;
        req.desired!.resources[CLUSTER_KEY] = {
          resource: { spec: { replicas: 10n } },
          connectionDetails: {},
          ready: 0,
        };
        return rsp;
      },
      message:
        /^internal error: cannot encode the response: desired\.resources\.cluster\.resource\.spec\.replicas: a bigint is not a JSON value$/,
    },
    {
      name: 'no response at all',
      run: async () => undefined as unknown as RunFunctionResponse,
      message: /^internal error: cannot encode the response: must be an object, got undefined$/,
    },
  ];
  it.each(cases)('answers $name with a Fatal InternalError result and logs it', async (c) => {
    const { logger, lines } = capturedLogger();
    const fn = await startFunction({ run: c.run, logger });
    try {
      const req = newEnvironment();
      req.desired!.resources.existing = {
        resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep-me' } },
        connectionDetails: { key: Buffer.from('value') },
        ready: 1,
      };
      const rsp = await fn.call(req);
      expect(rsp.results).toHaveLength(1);
      expect(rsp.results[0]).toMatchObject({
        severity: Severity.SEVERITY_FATAL,
        reason: 'InternalError',
        target: Target.TARGET_COMPOSITE,
      });
      expect(rsp.results[0]!.message).toMatch(c.message);
      // Nothing composed before is dropped: the request's desired state, as it was sent.
      expect(rsp.desired).toEqual(req.desired);
      expect(rsp.meta!.tag).toBe('test');
      expect(lines).toContainEqual(
        expect.objectContaining({ level: 50, tag: 'test', error: expect.any(String) }),
      );
    } finally {
      await fn.stop();
    }
  });
});

describe('admission', () => {
  it('queues requests past the in-flight budget, refuses them past the queue bound, and forgets cancelled ones', async () => {
    const size = encodeRunFunctionRequest(newEnvironment()).length;
    let ran = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const admitted: string[] = [];
    const run: RunFunction = async (req) => {
      ran++;
      admitted.push(req.meta!.tag);
      await gate;
      return runFunction(req);
    };
    const fn = await startFunction({
      run,
      admission: { inFlightBytes: size, queuedBytes: Math.floor(size * 2.5) },
    });
    const tagged = (tag: string) => {
      const req = newEnvironment();
      req.meta!.tag = tag;
      return req;
    };
    try {
      const a = fn.call(tagged('a'));
      while (ran === 0) await sleep(5);
      const b = fn.call(tagged('b'), 500);
      const c = fn.call(tagged('c'));
      await sleep(100);
      await expect(fn.call(tagged('refused'))).rejects.toMatchObject({
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: expect.stringMatching(/^the function is busy: .* retry later$/),
      });
      await expect(b).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
      await sleep(200); // the server sees the cancellation
      const d = fn.call(tagged('d')); // b's place in the queue is free again
      open();
      const answered = await Promise.all([a, c, d]);
      expect(answered.map((rsp) => rsp.meta!.tag)).toEqual(['a', 'c', 'd']);
      expect(admitted).toEqual(['a', 'c', 'd']);
    } finally {
      open();
      await fn.stop();
    }
  });
});

describe('the function binary', () => {
  it('exits non-zero when it cannot bind', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { code, output } = await startMain(['--insecure', '--address', `127.0.0.1:${port}`])
        .exited;
      expect(code).toBe(1);
      expect(output).toMatch(/^function-xenvironment: .*127\.0\.0\.1/m);
    } finally {
      blocker.close();
    }
  });

  it('exits non-zero, naming the file, when the TLS certificates are missing', async () => {
    const { code, output } = await startMain([], { TLS_SERVER_CERTS_DIR: '/nonexistent/tls' })
      .exited;
    expect(code).toBe(1);
    expect(output).toContain('/nonexistent/tls/tls.key');
  });

  it('serves plaintext on 127.0.0.1 only, unless told an address', async () => {
    const main = startMain(['--insecure']);
    // Port 9443 may be taken on a shared machine: then the failure names the address it tried.
    const outcome = await Promise.race([
      main.printed('function listening').then(() => 'listening' as const),
      main.exited.then(() => 'exited' as const),
    ]);
    if (outcome === 'exited') {
      expect((await main.exited).output).toMatch(/^function-xenvironment: .*127\.0\.0\.1:9443/m);
      return;
    }
    try {
      expect(main.output()).toContain('"address":"127.0.0.1:9443","port":9443,"mtls":false');
      const client = connectFunction('127.0.0.1:9443', grpc.credentials.createInsecure());
      try {
        expect(Object.keys((await client.call(newEnvironment())).desired!.resources)).toContain(
          HOST_NAMESPACE_KEY,
        );
      } finally {
        client.close();
      }
      const external = Object.values(networkInterfaces())
        .flat()
        .find((a) => a && a.family === 'IPv4' && !a.internal);
      if (external) {
        const refused = await new Promise<boolean>((resolve) => {
          const socket = connect(9443, external.address);
          socket.once('connect', () => (socket.destroy(), resolve(false)));
          socket.once('error', () => resolve(true));
        });
        expect(refused, `reachable on ${external.address}:9443`).toBe(true);
      }
    } finally {
      main.child.kill('SIGTERM');
      await main.exited;
    }
  });

  it('states every default in its help', async () => {
    const { code, output } = await startMain(['--help']).exited;
    expect(code).toBe(0);
    expect(output).toMatch(
      /--address <host:port> .* Default: 0\.0\.0\.0:9443, or 127\.0\.0\.1:9443 with --insecure\./,
    );
    expect(output).toMatch(
      /--tls-server-certs-dir <dir> .* Default: \$TLS_SERVER_CERTS_DIR, or \/tls\/server\./,
    );
    expect(output).toMatch(/--max-recv-message-size <MiB> .* Default: 4\./);
  });

  it('serves mTLS with certificates from TLS_SERVER_CERTS_DIR and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const main = startMain(['--address', `127.0.0.1:${port}`], { TLS_SERVER_CERTS_DIR: certsDir });
    await main.printed('function listening');
    const client = connectFunction(`127.0.0.1:${port}`, clientCredentials());
    try {
      const rsp = await client.call(newEnvironment());
      expect(Object.keys(rsp.desired!.resources)).toContain(HOST_NAMESPACE_KEY);
    } finally {
      client.close();
    }
    main.child.kill('SIGTERM');
    expect((await main.exited).code).toBe(0);
  });
});
