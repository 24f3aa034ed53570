import { describe, expect, it } from 'vitest';
import { hostAllowed, parseClaimSink, parseHostPatterns, parseSink } from '../../../common/sink.js';
import { routeSink } from '../../../bridge/delivery/sink-route.js';

describe('sink URLs', () => {
  // Any sink, K_SINK's too: the operator's may be in the same pod, on loopback. A claim's sink is
  // held to more (parseClaimSink, below).
  it.each([
    ['http://broker-ingress.knative-eventing.svc.cluster.local/team-a/default'],
    ['https://user:secret@events.example.org:8443/hook?x=1'],
    ['http://10.0.0.7:8080/'],
    ['http://[::1]:8080/'],
  ])('accepts %s', (text) => {
    expect(parseSink(text)).toMatchObject({ ok: true, url: new URL(text) });
  });

  it.each([
    ['http://', '"http://" is not an absolute URL with a valid host and port'],
    ['http://x:99999/', '"http://x:99999/" is not an absolute URL with a valid host and port'],
    ['broker', '"broker" is not an absolute URL with a valid host and port'],
    ['/team-a/default', '"/team-a/default" is not an absolute URL with a valid host and port'],
    ['ftp://broker/', '"ftp://broker/": scheme ftp: is not http or https'],
    ['file:///etc/passwd', '"file:///etc/passwd": scheme file: is not http or https'],
    ['http://a b/', '"http://a b/" contains whitespace'],
    ['', '"" is not an absolute URL with a valid host and port'],
  ])('refuses %j: %s', (text, problem) => {
    expect(parseSink(text)).toEqual({ ok: false, problem });
  });
});

describe('hosts no claim sink may name, whatever the allow-list', () => {
  const LINK_LOCAL = 'link-local (169.254.0.0/16, fe80::/10)';
  const LOOPBACK = 'loopback (127.0.0.0/8, ::1, localhost)';
  const UNSPECIFIED = 'unspecified (0.0.0.0/8, ::)';
  // The URL parser writes every IPv4 form dotted and IPv6 in hex: the host as refused.
  it.each([
    ['http://169.254.169.254/latest', '169.254.169.254', LINK_LOCAL],
    ['http://169.254.0.1:8080/', '169.254.0.1', LINK_LOCAL],
    ['http://0xa9fea9fe/', '169.254.169.254', LINK_LOCAL],
    ['http://[fe80::1]/', '[fe80::1]', LINK_LOCAL],
    ['http://[FEBF:ffff::1]/', '[febf:ffff::1]', LINK_LOCAL],
    ['http://[::ffff:169.254.169.254]/', '[::ffff:a9fe:a9fe]', LINK_LOCAL],
    ['http://127.0.0.1:8080/', '127.0.0.1', LOOPBACK],
    ['http://127.255.255.254/', '127.255.255.254', LOOPBACK],
    ['http://127.1/', '127.0.0.1', LOOPBACK],
    ['http://2130706433/', '127.0.0.1', LOOPBACK],
    ['http://[::1]:8080/', '[::1]', LOOPBACK],
    ['http://[0:0:0:0:0:0:0:1]/', '[::1]', LOOPBACK],
    ['http://[::ffff:127.0.0.1]/', '[::ffff:7f00:1]', LOOPBACK],
    ['http://localhost:8080/', 'localhost', LOOPBACK],
    ['http://LOCALHOST./', 'localhost.', LOOPBACK],
    ['http://broker.localhost/', 'broker.localhost', LOOPBACK],
    ['http://0.0.0.0/', '0.0.0.0', UNSPECIFIED],
    ['http://0/', '0.0.0.0', UNSPECIFIED],
    ['http://0.1.2.3/', '0.1.2.3', UNSPECIFIED],
    ['http://[::]/', '[::]', UNSPECIFIED],
  ])('refuses %s: %s is %s', (text, host, what) => {
    expect(parseClaimSink(text)).toEqual({
      ok: false,
      problem: `host ${host} is ${what}: no sink may be there`,
    });
    expect(routeSink(text, ['*'])).toEqual({
      problem: `host ${host} is ${what}: no sink may be there`,
    });
  });

  it.each([
    ['http://10.0.0.7:8080/'],
    ['http://169.255.0.1/'],
    ['http://126.255.255.255/'],
    ['http://1.0.0.0/'],
    ['http://[fec0::1]/'],
    ['http://[::2]/'],
    ['http://[::ffff:10.0.0.1]/'],
    ['http://localhost.example.org/'],
    ['http://mylocalhost/'],
    ['http://broker.team-a.svc.cluster.local/'],
  ])('leaves %s to the allow-list', (text) => {
    expect(parseClaimSink(text)).toMatchObject({ ok: true });
    expect(routeSink(text, ['*'])).toEqual({ url: text });
  });

  it('refuses what any sink is refused for first', () => {
    expect(parseClaimSink('ftp://127.0.0.1/')).toEqual(parseSink('ftp://127.0.0.1/'));
  });
});

describe('sink host allow-list', () => {
  const defaults = ['*.svc', '*.svc.cluster.local', 'broker.example.org'];
  it.each([
    ['http://broker.team-a.svc.cluster.local/', true],
    ['http://broker.team-a.svc/', true],
    ['http://BROKER.team-a.SVC.cluster.local./', true],
    ['http://broker.example.org:8080/other/path', true],
    ['http://svc.cluster.local/', false],
    ['http://broker/', false],
    ['http://evil.example.org/', false],
    ['http://example.org.svc.cluster.local.evil.org/', false],
    ['http://169.254.169.254/latest/meta-data', false],
  ])('%s: %s', (text, allowed) => {
    expect(hostAllowed(new URL(text), defaults)).toBe(allowed);
  });

  it('reads patterns, and allows anything only when told', () => {
    expect(parseHostPatterns(' *.Example.org ,10.0.0.7,, [fd00::1] ')).toEqual([
      '*.example.org',
      '10.0.0.7',
      '[fd00::1]',
    ]);
    expect(hostAllowed(new URL('http://anything.at.all/'), parseHostPatterns('*'))).toBe(true);
    for (const bad of ['a.*.org', '*example.org', 'http://x', 'x/y', '[::::]']) {
      expect(() => parseHostPatterns(bad)).toThrow(`${JSON.stringify(bad)} is not a host`);
    }
    // Patterns that could only allow hosts no sink may be on would never allow anything.
    for (const [bad, what] of [
      ['169.254.169.254', 'link-local'],
      ['[::1]', 'loopback'],
      ['*.localhost', 'loopback'],
      ['0.0.0.0', 'unspecified'],
    ]) {
      expect(() => parseHostPatterns(`b.ns.svc,${bad}`)).toThrow(`${bad} is ${what} (`);
    }
  });

  it.each([
    [undefined, {}],
    ['http://b.ns.svc/', { url: 'http://b.ns.svc/' }],
    ['http://', { problem: '"http://" is not an absolute URL with a valid host and port' }],
    ['http://evil.org/', { problem: 'host evil.org is not allowed (BRIDGE_SINK_ALLOW)' }],
    [
      'http://169.254.169.254/latest',
      {
        problem:
          'host 169.254.169.254 is link-local (169.254.0.0/16, fe80::/10): no sink may be there',
      },
    ],
  ])('routes a claim sink %j', (claim, route) => {
    expect(routeSink(claim, defaults)).toEqual(route);
  });
});
