import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../bridge/config.js';

describe('bridge configuration', () => {
  it('has defaults that need nothing set', () => {
    expect(loadConfig({})).toMatchObject({
      extensions: {},
      mode: 'binary',
      source: '/xenvironment-bridge',
      composites: [
        { group: 'platform.xenvironment.io', version: 'v1alpha1', plural: 'xenvironments' },
      ],
      composed: [{ group: 'helm.crossplane.io', version: 'v1beta1', plural: 'releases' }],
      httpAddress: { host: '127.0.0.1', port: 8080 },
      sinkAllow: ['*.svc', '*.svc.cluster.local'],
      logLevel: 'info',
      lease: {
        namespace: 'crossplane-system',
        name: 'xenvironment-bridge',
        durationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      },
    });
    expect(loadConfig({}).defaultSink).toBeUndefined();
  });

  it('warns an hour before expiry, and takes no events in until given an address and namespaces', () => {
    expect(loadConfig({})).toMatchObject({
      expiryWarningMs: 3_600_000,
      inbound: {
        namespaces: [],
        resource: {
          group: 'platform.xenvironment.io',
          version: 'v1alpha1',
          plural: 'environments',
        },
      },
    });
    expect(loadConfig({}).inbound.address).toBeUndefined();
    expect(loadConfig({}).inbound.token).toBeUndefined();
    expect(
      loadConfig({
        BRIDGE_EXPIRY_WARNING: '1h30m',
        BRIDGE_INBOUND_ADDRESS: '0.0.0.0:8090',
        BRIDGE_INBOUND_NAMESPACES: 'team-a, team-b',
        BRIDGE_INBOUND_TOKEN: 's3cret',
        BRIDGE_INBOUND_RESOURCE: 'v2.platform.xenvironment.io/v1alpha1/environments',
      }),
    ).toMatchObject({
      expiryWarningMs: 5_400_000,
      inbound: {
        address: { host: '0.0.0.0', port: 8090 },
        namespaces: ['team-a', 'team-b'],
        token: 's3cret',
        resource: { group: 'v2.platform.xenvironment.io', plural: 'environments' },
      },
    });
    expect(loadConfig({ BRIDGE_INBOUND_NAMESPACES: '*' }).inbound.namespaces).toEqual(['*']);
  });

  it('has requested events select a Composition where the kind they create keeps it', () => {
    expect(loadConfig({}).inbound.onCreate).toEqual({});
    // A claim: spec.compositionRef.
    expect(loadConfig({ BRIDGE_INBOUND_COMPOSITION: 'ephemeral' }).inbound.onCreate).toEqual({
      compositionRef: { name: 'ephemeral' },
    });
    // A namespaced XR (also watched as a composite): spec.crossplane.compositionRef.
    const v2 = 'v2.platform.xenvironment.io/v1alpha1/environments';
    expect(
      loadConfig({
        BRIDGE_INBOUND_COMPOSITION: 'ephemeral.v2',
        BRIDGE_INBOUND_RESOURCE: v2,
        BRIDGE_COMPOSITES: `platform.xenvironment.io/v1alpha1/xenvironments,${v2}`,
      }).inbound.onCreate,
    ).toEqual({ crossplane: { compositionRef: { name: 'ephemeral.v2' } } });
    expect(() => loadConfig({ BRIDGE_INBOUND_COMPOSITION: 'Not_A_Name' })).toThrow(
      /^BRIDGE_INBOUND_COMPOSITION: "Not_A_Name" is not a Composition name$/,
    );
  });

  it("lets claims name K_SINK's host besides the allowed ones, and finds its namespace", () => {
    const config = loadConfig(
      {
        K_SINK: 'http://Broker.Example.org:8080/ns/default',
        BRIDGE_SINK_ALLOW: '*.events.example.org, 10.0.0.7',
        POD_NAME: 'function-xenvironment-7d9f-abcde',
      },
      'team-system\n',
    );
    expect(config.sinkAllow).toEqual(['*.events.example.org', '10.0.0.7', 'broker.example.org']);
    expect(config.lease).toMatchObject({
      namespace: 'team-system',
      identity: 'function-xenvironment-7d9f-abcde',
    });
    expect(loadConfig({ POD_NAMESPACE: 'a' }, 'b').lease.namespace).toBe('a');
    expect(loadConfig({ BRIDGE_HTTP_ADDRESS: '[fd00::1]:8080' }).httpAddress).toEqual({
      host: 'fd00::1',
      port: 8080,
    });
    // Without a pod name, every process is a candidate of its own.
    expect(loadConfig({}).lease.identity).not.toBe(loadConfig({}).lease.identity);
  });

  it('takes the log level from BRIDGE_LOG_LEVEL', () => {
    expect(loadConfig({ BRIDGE_LOG_LEVEL: 'debug' }).logLevel).toBe('debug');
    expect(loadConfig({ BRIDGE_LOG_LEVEL: '' }).logLevel).toBe('info');
  });

  it('reads the SinkBinding variables; K_CE_OVERRIDES may be empty and holds extensions only', () => {
    expect(loadConfig({ K_SINK: 'http://broker/ns/default', K_CE_OVERRIDES: '' })).toMatchObject({
      defaultSink: 'http://broker/ns/default',
      extensions: {},
    });
    expect(loadConfig({ K_CE_OVERRIDES: '{"extensions":{"team":"a"}}' }).extensions).toEqual({
      team: 'a',
    });
  });

  it.each([
    [{ K_SINK: 'broker' }, 'K_SINK: "broker" is not an absolute URL with a valid host and port'],
    [{ K_SINK: 'ftp://broker/' }, 'K_SINK: "ftp://broker/": scheme ftp: is not http or https'],
    [{ BRIDGE_SINK_ALLOW: 'a.*.org' }, 'BRIDGE_SINK_ALLOW: "a.*.org" is not a host, *.domain or *'],
    [
      { BRIDGE_SINK_ALLOW: '*.svc,localhost' },
      'BRIDGE_SINK_ALLOW: localhost is loopback (127.0.0.0/8, ::1, localhost): no sink may be there',
    ],
    [
      { BRIDGE_LEASE_RENEW_DEADLINE_MS: '20000' },
      'BRIDGE_LEASE_*: the lease duration must exceed the renew deadline, and that the retry period',
    ],
    [{ K_CE_OVERRIDES: '{' }, 'K_CE_OVERRIDES: not JSON'],
    [{ K_CE_OVERRIDES: '{"type":"x"}' }, 'K_CE_OVERRIDES: may hold only {"extensions": {...}}'],
    [
      { K_CE_OVERRIDES: '{"extensions":{"Bad-Name":"x"}}' },
      'K_CE_OVERRIDES: extension "Bad-Name" is not a CloudEvents attribute name',
    ],
    [{ BRIDGE_CE_MODE: 'batch' }, 'BRIDGE_CE_MODE: batch is not binary or structured'],
    [
      { BRIDGE_COMPOSITES: 'xenvironments' },
      'BRIDGE_COMPOSITES: "xenvironments" is not group/version/plural',
    ],
    [{ BRIDGE_WORKERS: '0' }, 'BRIDGE_WORKERS: 0 is not a whole number ≥ 1'],
    [
      { BRIDGE_EXPIRY_WARNING: '3600' },
      'BRIDGE_EXPIRY_WARNING: 3600 is not a duration such as 1h or 90s',
    ],
    [{ BRIDGE_INBOUND_ADDRESS: '8090' }, 'BRIDGE_INBOUND_ADDRESS: 8090 is not host:port'],
    [
      { BRIDGE_INBOUND_NAMESPACES: 'team-a,Team_B' },
      'BRIDGE_INBOUND_NAMESPACES: "Team_B" is not a namespace name',
    ],
    [
      { BRIDGE_INBOUND_RESOURCE: 'environments' },
      'BRIDGE_INBOUND_RESOURCE: "environments" is not group/version/plural',
    ],
    [
      { BRIDGE_LOG_LEVEL: 'verbose' },
      'BRIDGE_LOG_LEVEL: verbose is not one of fatal, error, warn, info, debug, trace, silent',
    ],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
