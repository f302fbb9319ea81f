/**
 * The API reference (issue 9): the OpenAPI document generated from the routes' zod schemas is a
 * valid OpenAPI 3.1 document (checked by @seriousme/openapi-schema-validator against the
 * specification's JSON Schema), its operations are exactly the routes the app registers, and
 * /openapi.json and /docs are served by the app itself, the docs page's assets included.
 */
import { execFileSync } from 'node:child_process';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Router } from 'express';
import { createApp } from '../../src/api/app';
import { ApiErrorCode } from '../../src/api/refusals';
import { openApiDocument } from '../../src/api/openapi';
import type { Db } from '../../src/db/knex';
import { createServices } from '../../src/services';
import { ResponseCode } from '../../workflows/contract';
import { connectTemporal, openTestDb, testLogger, uniqueTaskQueue } from '../support/harness';

const REPO = path.resolve(__dirname, '../..');
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;

type Layer = { route?: { path: unknown; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; rawPath?: unknown };

/** Every (METHOD path) the app registers, walking its routers; Express's `:id` written as OpenAPI's `{id}`. */
function registeredRoutes(stack: Layer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const routePath = layer.route.path;
      if (typeof routePath !== 'string') throw new Error(`a route path that is not a string: ${String(routePath)}`);
      const full = `${prefix}${routePath}`.replace(/:(\w+)/g, '{$1}');
      return Object.entries(layer.route.methods)
        .filter(([method, on]) => on && method !== '_all')
        .map(([method]) => `${method.toUpperCase()} ${full}`);
    }
    const inner = layer.handle?.stack;
    if (!inner) return [];
    if (layer.rawPath !== undefined && typeof layer.rawPath !== 'string') throw new Error(`a router mounted at a path that is not a string: ${String(layer.rawPath)}`);
    const mount = layer.rawPath === undefined || layer.rawPath === '/' ? '' : layer.rawPath;
    return registeredRoutes(inner, `${prefix}${mount}`);
  });
}

function documentedOperations(doc: ReturnType<typeof openApiDocument>): string[] {
  return Object.entries(doc.paths ?? {}).flatMap(([p, item]) => METHODS.filter((m) => item?.[m] !== undefined).map((m) => `${m.toUpperCase()} ${p}`));
}

/** The validator is an ES module: it runs in a child Node process, reading the document on stdin. */
const VALIDATE = `
import { Validator } from '@seriousme/openapi-schema-validator';
let input = '';
for await (const chunk of process.stdin) input += chunk;
const validator = new Validator();
const result = await validator.validate(JSON.parse(input));
process.stdout.write(JSON.stringify({ ...result, version: validator.version }));
`;

let db: Db;
let closeTemporal: () => Promise<void>;
let router: { stack: Layer[] };
let server: Server;
let base: string;

beforeAll(async () => {
  db = openTestDb(2);
  const temporal = await connectTemporal();
  closeTemporal = temporal.close;
  const { app } = createApp({
    services: createServices(db, { fxRateMaxAgeMs: 3_600_000, fxQuoteTtlMs: 60_000 }),
    temporal: temporal.client,
    taskQueue: uniqueTaskQueue('openapi'),
    logger: testLogger,
    transferSyncWaitMs: 1_000,
    maxBodyBytes: 65_536,
    rateLimits: { windowSeconds: 60, perKey: 1_000, perAddress: 1_000, failedAuthPerAddress: 1_000 },
    trustProxy: false,
    complianceHoldTtlSeconds: 3600,
    payoutTiming: { settlementCheckSeconds: 2, returnWindowSeconds: 10 },
    railCallbackSecret: 'openapi-test-secret',
    webhooks: { urlPolicy: { production: false }, startDelivery: async () => 'not started' },
  });
  router = (app as unknown as { router: Router & { stack: Layer[] } }).router;
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closeTemporal();
  await db.destroy();
});

describe('the OpenAPI document', () => {
  const doc = openApiDocument();

  it('is a valid OpenAPI 3.1 document', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', VALIDATE], { cwd: REPO, input: JSON.stringify(doc), encoding: 'utf8' });
    const result = JSON.parse(out);
    expect(result.errors).toBeUndefined();
    expect(result).toMatchObject({ valid: true, version: '3.1' });
  });

  it('has unique operation ids and declares every path parameter', () => {
    const ids: string[] = [];
    for (const [p, item] of Object.entries(doc.paths ?? {})) {
      const inPath = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const method of METHODS) {
        const operation = item?.[method];
        if (!operation) continue;
        ids.push(operation.operationId as string);
        const declared = (operation.parameters ?? [])
          .flatMap((param) => ('in' in param && param.in === 'path' ? [param.name] : []))
          .sort();
        expect({ operation: `${method} ${p}`, params: declared }).toEqual({ operation: `${method} ${p}`, params: inPath });
      }
    }
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents exactly the routes the app registers, both ways', () => {
    const registered = registeredRoutes(router.stack).sort();
    const documented = documentedOperations(doc).sort();
    expect(registered.length).toBeGreaterThan(50);
    expect(new Set(registered).size).toBe(registered.length);
    expect({ undocumented: registered.filter((r) => !documented.includes(r)), notRegistered: documented.filter((d) => !registered.includes(d)) }).toEqual({
      undocumented: [],
      notRegistered: [],
    });
  });

  it('describes the auth schemes, the Idempotency-Key header, the response codes and the error envelope', () => {
    const schemes = doc.components?.securitySchemes ?? {};
    expect(schemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.railSignature).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Rail-Signature' });
    expect(schemes.railTimestamp).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-Rail-Timestamp' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths?.['/rail/events']?.post?.security).toEqual([{ railTimestamp: [], railSignature: [] }]);
    expect(doc.paths?.['/health']?.get?.security).toEqual([]);

    const params = doc.components?.parameters ?? {};
    expect(params.IdempotencyKeyRequired).toMatchObject({ in: 'header', name: 'Idempotency-Key', required: true });
    expect(params.IdempotencyKey).toMatchObject({ in: 'header', name: 'Idempotency-Key' });
    for (const p of ['/v1/transfers', '/v1/payouts']) {
      expect(doc.paths?.[p]?.post?.parameters).toContainEqual({ $ref: '#/components/parameters/IdempotencyKeyRequired' });
    }
    expect(doc.paths?.['/v1/accounts/{id}/deposits']?.post?.parameters).toContainEqual({ $ref: '#/components/parameters/IdempotencyKey' });

    const schemas = doc.components?.schemas ?? {};
    expect(schemas.ResponseCode).toMatchObject({ enum: ['1', '12', '101', '606', '650', '651'] });
    expect(Object.values(ResponseCode).sort()).toEqual(['1', '101', '12', '606', '650', '651']);
    expect(JSON.stringify(schemas.Transfer)).toContain('#/components/schemas/ResponseCode');
    const envelope = schemas.ErrorEnvelope as { required: string[]; properties: { errors: { items: { properties: { error_code: { enum: string[] } } } } } };
    expect(envelope.required).toEqual(expect.arrayContaining(['code', 'message', 'errors', 'id']));
    expect(envelope.properties.errors.items.properties.error_code.enum.sort()).toEqual(Object.values(ApiErrorCode).sort());
    // Every /v1 operation documents the envelope for a bad key.
    for (const [p, item] of Object.entries(doc.paths ?? {})) {
      if (!p.startsWith('/v1/')) continue;
      for (const method of METHODS) {
        if (item?.[method]) expect({ op: `${method} ${p}`, has401: item[method]?.responses?.['401'] !== undefined }).toEqual({ op: `${method} ${p}`, has401: true });
      }
    }
  });
});

describe('serving the reference', () => {
  it('GET /openapi.json answers the document as JSON, without a key', async () => {
    const res = await fetch(`${base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    // The API's own strict policy is untouched.
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
  });

  it('GET /docs answers an HTML page whose every asset loads from this server', async () => {
    const res = await fetch(`${base}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe');
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script>/); // no inline script: the CSP would refuse it
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(assets).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css', '/docs/assets/init.js']));
    const expected: Record<string, RegExp> = { '.js': /^(text|application)\/javascript/, '.css': /^text\/css/, '.png': /^image\/png/ };
    for (const asset of assets) {
      const got = await fetch(new URL(asset, `${base}/docs`));
      expect({ asset, status: got.status }).toEqual({ asset, status: 200 });
      expect(got.headers.get('content-type')).toMatch(expected[path.extname(asset)] as RegExp);
      const text = await got.text();
      expect(text.length).toBeGreaterThan(0);
      if (asset.endsWith('init.js')) expect(text).toContain("url: '/openapi.json'");
    }
  });

  it('serves nothing else under the assets prefix', async () => {
    for (const p of ['/docs/assets/package.json', '/docs/assets/../package.json', '/docs/assets/index.html']) {
      const res = await fetch(`${base}${p}`);
      expect({ p, status: res.status }).toEqual({ p, status: 404 });
    }
  });
});
