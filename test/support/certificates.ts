import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';

export interface KeyPair {
  key: string;
  cert: string;
}

export interface TestPki {
  ca: KeyPair;
  server: KeyPair;
  client: KeyPair;
  /** A client certificate from a CA the server does not trust. */
  stranger: KeyPair;
}

function rsaKey() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: forge.pki.publicKeyFromPem(
      publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    ),
    privateKey: forge.pki.privateKeyFromPem(
      privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    ),
  };
}

let serial = 1;

function certificate(
  subject: { commonName: string; organization?: string },
  key: ReturnType<typeof rsaKey>,
  issuer: { name: string; key: forge.pki.rsa.PrivateKey } | undefined,
  extensions: object[],
): string {
  const commonName = subject.commonName;
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  cert.serialNumber = (serial++).toString(16).padStart(2, '0');
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3_600_000);
  cert.setSubject([
    { name: 'commonName', value: commonName },
    ...(subject.organization ? [{ name: 'organizationName', value: subject.organization }] : []),
  ]);
  cert.setIssuer([{ name: 'commonName', value: issuer?.name ?? commonName }]);
  cert.setExtensions(extensions);
  cert.sign(issuer?.key ?? key.privateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** A CA that can issue server and client certificates. */
export function authority(name: string) {
  const key = rsaKey();
  const cert = certificate({ commonName: name }, key, undefined, [
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true },
  ]);
  return { pair: { key: key.privatePem, cert }, issuer: { name, key: key.privateKey } };
}

export function leaf(
  name: string,
  issuer: { name: string; key: forge.pki.rsa.PrivateKey },
  server: boolean,
  organization?: string,
  /** More DNS names a server certificate is for, such as a Service's. */
  dnsNames: string[] = [],
  /** More IP addresses it is for, besides 127.0.0.1. */
  ips: string[] = [],
): KeyPair {
  const key = rsaKey();
  const subject = { commonName: name, ...(organization ? { organization } : {}) };
  const cert = certificate(subject, key, issuer, [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: server, clientAuth: !server },
    ...(server
      ? [
          {
            name: 'subjectAltName',
            altNames: [
              { type: 7, ip: '127.0.0.1' },
              ...ips.map((ip) => ({ type: 7, ip })),
              { type: 2, value: 'localhost' },
              ...dnsNames.map((value) => ({ type: 2, value })),
            ],
          },
        ]
      : []),
  ]);
  return { key: key.privatePem, cert };
}

/**
 * A CA with a server and a client certificate. The client's is as Crossplane issues them: with the
 * CA's own subject and no authority key identifier, which OpenSSL takes for self-signed.
 */
export function createTestPki(): TestPki {
  const ca = authority(CROSSPLANE_SUBJECT);
  const other = authority(CROSSPLANE_SUBJECT);
  return {
    ca: ca.pair,
    server: leaf('function-xenvironment', ca.issuer, true),
    client: leaf(CROSSPLANE_SUBJECT, ca.issuer, false),
    stranger: leaf(CROSSPLANE_SUBJECT, other.issuer, false),
  };
}

/** The common name Crossplane gives its CA and every certificate it signs. */
const CROSSPLANE_SUBJECT = 'Crossplane';
