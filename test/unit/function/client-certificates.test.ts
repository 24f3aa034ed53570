import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ClientCertificates } from '../../../function/server/server.js';
import { createTestPki } from '../../support/certificates.js';

const pki = createTestPki();
const der = (pem: string) => new X509Certificate(pem).raw;
const DAY = 24 * 3_600_000;

describe('client certificates', () => {
  const cases: { name: string; peer: Buffer | undefined; now?: number; want?: string }[] = [
    // Crossplane's: the CA's own subject, no authority key identifier.
    { name: "accepts Crossplane's, signed by the CA", peer: der(pki.client.cert) },
    { name: 'refuses none', peer: undefined, want: 'a client certificate is required' },
    {
      name: 'refuses an empty one',
      peer: Buffer.alloc(0),
      want: 'a client certificate is required',
    },
    {
      name: 'refuses what is not a certificate',
      peer: Buffer.from('not a certificate'),
      want: 'the client certificate cannot be read',
    },
    {
      name: 'refuses one of another CA, even of the same name',
      peer: der(pki.stranger.cert),
      want: "the client certificate is not signed by the function's CA",
    },
    {
      name: 'refuses one that has expired',
      peer: der(pki.client.cert),
      now: Date.now() + 2 * DAY,
      want: 'the client certificate is not valid now',
    },
    {
      name: 'refuses one for servers only',
      peer: der(pki.server.cert),
      want: 'the client certificate is not for client authentication',
    },
  ];
  for (const { name, peer, now, want } of cases) {
    it(name, () => {
      expect(new ClientCertificates(new X509Certificate(pki.ca.cert)).problem(peer, now)).toBe(
        want,
      );
    });
  }

  it('remembers one it accepted only while it is valid', () => {
    const clients = new ClientCertificates(new X509Certificate(pki.ca.cert));
    expect(clients.problem(der(pki.client.cert))).toBeUndefined();
    expect(clients.problem(der(pki.client.cert), Date.now() + 2 * DAY)).toBe(
      'the client certificate is not valid now',
    );
  });
});
