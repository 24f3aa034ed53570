/**
 * CDEvents 0.5.1, typed. There is no CDEvents package on npm, so this module is ours: builders for
 * the events the bridge emits, and a parser that accepts any 0.5.1 event without loss. Where the
 * spec's prose and its JSON schemas disagree, the schemas win (the field is `uri`, not `url`;
 * environment.deleted carries only `name`).
 */
import { isObject, type JsonObject } from '../../common/objects.js';
import { RFC3339 } from '../../common/time.js';
import { schemaProblem } from './event-schemas.js';

const SPEC_VERSION = '0.5.1';

export const EventType = {
  environmentCreated: 'dev.cdevents.environment.created.0.3.0',
  environmentModified: 'dev.cdevents.environment.modified.0.3.0',
  environmentDeleted: 'dev.cdevents.environment.deleted.0.3.0',
  serviceDeployed: 'dev.cdevents.service.deployed.0.3.0',
  serviceUpgraded: 'dev.cdevents.service.upgraded.0.3.0',
  serviceRemoved: 'dev.cdevents.service.removed.0.3.0',
  incidentDetected: 'dev.cdevents.incident.detected.0.3.0',
  incidentResolved: 'dev.cdevents.incident.resolved.0.3.0',
  // Custom: `dev.cdeventsx.<tool>-<subject>.<predicate>.M.m.p`, for what CDEvents has no type
  // for; each has its schema in bridge/delivery/event-schemas/.
  /** Emitted for a new environment, and received to request one. */
  environmentRequested: 'dev.cdeventsx.xenvironment-environment.requested.0.1.0',
  /** Received: the environment is no longer needed. */
  environmentReleased: 'dev.cdeventsx.xenvironment-environment.released.0.1.0',
  /** Emitted before the ttl runs out. */
  environmentExpiring: 'dev.cdeventsx.xenvironment-environment.expiring.0.1.0',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export type Link =
  | { linkType: 'PATH'; from: { contextId: string }; tags?: JsonObject }
  | { linkType: 'END'; from: { contextId: string }; tags?: JsonObject }
  | { linkType: 'RELATION'; linkKind: string; target: { contextId: string }; tags?: JsonObject };

export interface Context<T extends string = string> {
  specversion: string;
  id: string;
  source: string;
  type: T;
  timestamp: string;
  schemaUri?: string;
  chainId?: string;
  links?: Link[];
}

/** A reference to another subject, such as the environment a service runs in. */
export interface Reference {
  id: string;
  source?: string;
}

export interface EnvironmentContent {
  name?: string;
  uri?: string;
}
export interface ServiceContent {
  environment: Reference;
  artifactId: string;
}
export interface IncidentContent {
  description?: string;
  environment: Reference;
  service?: Reference;
  artifactId?: string;
}
export interface EnvironmentRequestedContent {
  name: string;
  /** version is absent until the function has resolved it from the catalogue. */
  tools: { name: string; version?: string; values?: JsonObject }[];
  ttl?: string;
  sink?: string;
}

export interface Contents {
  [EventType.environmentCreated]: EnvironmentContent;
  [EventType.environmentModified]: EnvironmentContent;
  [EventType.environmentDeleted]: { name?: string };
  [EventType.serviceDeployed]: ServiceContent;
  [EventType.serviceUpgraded]: ServiceContent;
  [EventType.serviceRemoved]: { environment?: Reference };
  [EventType.incidentDetected]: IncidentContent;
  [EventType.incidentResolved]: IncidentContent;
  [EventType.environmentRequested]: EnvironmentRequestedContent;
  [EventType.environmentReleased]: { name: string };
  [EventType.environmentExpiring]: { name: string; expiresAt: string };
}

export interface CDEvent<T extends string = string, C = unknown> {
  context: Context<T>;
  subject: { id: string; source?: string; content: C };
  customData?: JsonObject | string;
  customDataContentType?: string;
}

export class CDEventError extends Error {
  constructor(path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.name = 'CDEventError';
  }
}

/** What a builder needs besides the subject. */
export interface ContextInput {
  id: string;
  source: string;
  /** Millisecond precision, so the CloudEvent `time` and `context.timestamp` stay equal. */
  timestamp?: Date;
  chainId?: string;
  links?: Link[];
}

/** Builds an event of a known type and validates it; throws CDEventError naming the field. */
export function buildEvent<T extends EventType>(
  type: T,
  context: ContextInput,
  subject: { id: string; source?: string; content: Contents[T] },
): CDEvent<T, Contents[T]> {
  const event: CDEvent<T, Contents[T]> = {
    context: {
      specversion: SPEC_VERSION,
      id: context.id,
      source: context.source,
      type,
      timestamp: (context.timestamp ?? new Date()).toISOString(),
      ...(context.chainId ? { chainId: context.chainId } : {}),
      ...(context.links?.length ? { links: context.links } : {}),
    },
    subject,
  };
  validateEvent(event);
  return event;
}

/** Parses any CDEvents 0.5.1 event, keeping every field; throws CDEventError when invalid. */
export function parseEvent(value: unknown): CDEvent {
  validateEvent(value);
  return value as CDEvent;
}

type FieldKind = 'string' | 'uri' | 'reference' | 'nonEmpty';
interface ContentRule {
  fields: Record<string, FieldKind>;
  required?: string[];
}

const ENVIRONMENT: ContentRule = { fields: { name: 'string', uri: 'uri' } };
const SERVICE: ContentRule = {
  fields: { environment: 'reference', artifactId: 'nonEmpty' },
  required: ['environment', 'artifactId'],
};
const INCIDENT: ContentRule = {
  fields: {
    description: 'string',
    environment: 'reference',
    service: 'reference',
    artifactId: 'nonEmpty',
  },
  required: ['environment'],
};

/** Subject content rules of the official schemas, for the types this module builds. */
const CONTENT_RULES: Record<string, ContentRule> = {
  [EventType.environmentCreated]: ENVIRONMENT,
  [EventType.environmentModified]: ENVIRONMENT,
  [EventType.environmentDeleted]: { fields: { name: 'string' } },
  [EventType.serviceDeployed]: SERVICE,
  [EventType.serviceUpgraded]: SERVICE,
  [EventType.serviceRemoved]: { fields: { environment: 'reference' } },
  [EventType.incidentDetected]: INCIDENT,
  [EventType.incidentResolved]: INCIDENT,
};

const CORE_TYPE = /^dev\.cdevents\.[a-z]+\.[a-z]+\.[0-9]+\.[0-9]+\.[0-9]+(-.+)?$/;
const CUSTOM_TYPE = /^dev\.cdeventsx\.[a-zA-Z0-9]+-[a-zA-Z]+\.[a-zA-Z]+\.[0-9]\.[0-9]\.[0-9]$/;
const CONTEXT_FIELDS = [
  'specversion',
  'id',
  'source',
  'type',
  'timestamp',
  'schemaUri',
  'chainId',
  'links',
];

function fail(path: string, detail: string): never {
  throw new CDEventError(path, detail);
}

function onlyFields(value: JsonObject, allowed: string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail(`${path}.${key}`, 'is not allowed');
  }
}

function nonEmpty(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') fail(path, 'must be a non-empty string');
  return value;
}

function uriReference(value: unknown, path: string): void {
  const text = nonEmpty(value, path);
  if (/\s/.test(text)) fail(path, `${JSON.stringify(text)} is not a URI reference`);
}

function absoluteUri(value: unknown, path: string): void {
  const text = nonEmpty(value, path);
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(text) || !URL.canParse(text)) {
    fail(path, `${JSON.stringify(text)} is not an absolute URI`);
  }
}

function reference(value: unknown, path: string): void {
  if (!isObject(value)) fail(path, 'must be an object');
  onlyFields(value, ['id', 'source'], path);
  nonEmpty(value.id, `${path}.id`);
  if (value.source !== undefined) uriReference(value.source, `${path}.source`);
}

function validateLinks(value: unknown, path: string): void {
  if (!Array.isArray(value)) fail(path, 'must be a list');
  value.forEach((link: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(link)) fail(at, 'must be an object');
    const end = link.linkType === 'RELATION' ? 'target' : 'from';
    if (!['PATH', 'END', 'RELATION'].includes(String(link.linkType))) {
      fail(`${at}.linkType`, 'must be PATH, END or RELATION');
    }
    onlyFields(link, ['linkType', end, 'tags', ...(end === 'target' ? ['linkKind'] : [])], at);
    if (end === 'target') nonEmpty(link.linkKind, `${at}.linkKind`);
    const ref = link[end];
    if (!isObject(ref)) fail(`${at}.${end}`, 'must be an object');
    nonEmpty(ref.contextId, `${at}.${end}.contextId`);
    if (link.tags !== undefined && !isObject(link.tags)) fail(`${at}.tags`, 'must be an object');
  });
}

function validateContent(type: string, event: JsonObject, content: unknown): void {
  const path = 'subject.content';
  if (!isObject(content)) fail(path, 'must be an object');
  const problem = schemaProblem(type, event);
  if (problem) fail(problem.path, problem.detail);
  const rule = CONTENT_RULES[type];
  if (!rule) return; // other custom and core types: any object, as their schemas allow
  onlyFields(content, Object.keys(rule.fields), path);
  for (const field of rule.required ?? []) {
    if (content[field] === undefined) fail(`${path}.${field}`, 'is required');
  }
  for (const [field, kind] of Object.entries(rule.fields)) {
    const value = content[field];
    if (value === undefined) continue;
    const at = `${path}.${field}`;
    if (kind === 'string' && typeof value !== 'string') fail(at, 'must be a string');
    if (kind === 'nonEmpty') nonEmpty(value, at);
    if (kind === 'uri') absoluteUri(value, at);
    if (kind === 'reference') reference(value, at);
  }
}

/** The checks of the official 0.5.1 schemas, in code: the product does not ship the schemas. */
export function validateEvent(value: unknown): asserts value is CDEvent {
  if (!isObject(value)) fail('event', 'must be an object');
  onlyFields(value, ['context', 'subject', 'customData', 'customDataContentType'], 'event');
  const { context, subject } = value;
  if (!isObject(context)) fail('context', 'must be an object');
  onlyFields(context, CONTEXT_FIELDS, 'context');
  nonEmpty(context.specversion, 'context.specversion');
  nonEmpty(context.id, 'context.id');
  uriReference(context.source, 'context.source');
  const type = nonEmpty(context.type, 'context.type');
  if (!CORE_TYPE.test(type) && !CUSTOM_TYPE.test(type)) {
    fail('context.type', `${JSON.stringify(type)} is not a CDEvents type`);
  }
  if (!RFC3339.test(nonEmpty(context.timestamp, 'context.timestamp'))) {
    fail('context.timestamp', 'must be an RFC 3339 date-time');
  }
  if (context.schemaUri !== undefined) absoluteUri(context.schemaUri, 'context.schemaUri');
  if (context.chainId !== undefined) nonEmpty(context.chainId, 'context.chainId');
  if (context.links !== undefined) validateLinks(context.links, 'context.links');

  if (!isObject(subject)) fail('subject', 'must be an object');
  onlyFields(subject, ['id', 'source', 'content'], 'subject');
  nonEmpty(subject.id, 'subject.id');
  if (subject.source !== undefined) uriReference(subject.source, 'subject.source');
  validateContent(type, value, subject.content);

  const { customData } = value;
  if (customData !== undefined && !isObject(customData) && typeof customData !== 'string') {
    fail('customData', 'must be an object or a base64 string');
  }
  if (
    value.customDataContentType !== undefined &&
    typeof value.customDataContentType !== 'string'
  ) {
    fail('customDataContentType', 'must be a string');
  }
}
