import { describe, expect, it } from 'vitest';
import { hostAllowed, parseHostPatterns, parseSink } from '../../../common/sink.js';
import { routeSink } from '../../../bridge/delivery/sink-route.js';

describe('sink URLs', () => {
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
    expect(parseHostPatterns(' *.Example.org ,10.0.0.7,, [::1] ')).toEqual([
      '*.example.org',
      '10.0.0.7',
      '[::1]',
    ]);
    expect(hostAllowed(new URL('http://anything.at.all/'), parseHostPatterns('*'))).toBe(true);
    for (const bad of ['a.*.org', '*example.org', 'http://x', 'x/y']) {
      expect(() => parseHostPatterns(bad)).toThrow(`${JSON.stringify(bad)} is not a host`);
    }
  });

  it.each([
    [undefined, {}],
    ['http://b.ns.svc/', { url: 'http://b.ns.svc/' }],
    ['http://', { problem: '"http://" is not an absolute URL with a valid host and port' }],
    ['http://evil.org/', { problem: 'host evil.org is not allowed (BRIDGE_SINK_ALLOW)' }],
  ])('routes a claim sink %j', (claim, route) => {
    expect(routeSink(claim, defaults)).toEqual(route);
  });
});
