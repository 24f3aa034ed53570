import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { mutualTlsCredentials } from '../function/server.js';
import { freePort } from './controlplane/controlplane.js';
import { createTestPki, type TestPki } from './support/certificates.js';
import { startMain } from './support/function-binary.js';
import { connectFunction, startFunction, type RunningFunction } from './support/function-server.js';
import { request, shippedCatalog, xEnvironment } from './support/requests.js';

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
      serverCredentials: await mutualTlsCredentials(certsDir),
      clientCredentials: clientCredentials(),
    });
  });
  afterAll(() => fn.stop());

  it('answers a client with a certificate from the trusted CA, on v1 and v1beta1', async () => {
    const v1 = await fn.call(newEnvironment());
    expect(Object.keys(v1.desired!.resources)).toContain('host-namespace');
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

  it('serves mTLS with certificates from TLS_SERVER_CERTS_DIR and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const main = startMain(['--address', `127.0.0.1:${port}`], { TLS_SERVER_CERTS_DIR: certsDir });
    await main.printed('function listening');
    const client = connectFunction(`127.0.0.1:${port}`, clientCredentials());
    try {
      const rsp = await client.call(newEnvironment());
      expect(Object.keys(rsp.desired!.resources)).toContain('host-namespace');
    } finally {
      client.close();
    }
    main.child.kill('SIGTERM');
    expect((await main.exited).code).toBe(0);
  });
});
