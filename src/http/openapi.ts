/**
 * The building blocks every route's OpenAPI description uses (zod-openapi): an operation, its
 * JSON body and answers, the error answers by status, path ids, the Idempotency-Key header,
 * pages. Each domain's routes.ts describes its own paths with these, next to the zod schemas it
 * validates requests with; src/api/openapi.ts assembles the document.
 */
import { z } from 'zod';
import type { CreateDocumentOptions, ZodOpenApiOperationObject, ZodOpenApiPathsObject, ZodOpenApiResponseObject } from 'zod-openapi';
import { KEY_FORMAT } from './idempotency';
import { CurrencyCode, Uuid } from './validation';

export type { ZodOpenApiPathsObject as OpenApiPaths };
type Op = ZodOpenApiOperationObject;

export const Id = z.uuid();
export const Timestamp = z.iso.datetime({ offset: true }).meta({ description: 'ISO 8601 instant' });
export const Decimal = z.string().meta({ description: 'A decimal number as a string (amounts never travel as JSON numbers)', example: '100.50' });
export const AmountWithCurrency = z.object({ amount: Decimal.nullable(), currency: z.string() });

export const op = (tag: string, operationId: string, summary: string, o: Omit<Op, 'operationId' | 'summary' | 'tags'>): Op => ({ operationId, summary, tags: [tag], ...o });
export const roles = (...r: string[]) => `Roles: ${r.join(', ')}.`;

export const json = (description: string, schema: z.ZodType, headers?: z.ZodObject): ZodOpenApiResponseObject => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
});
export const body = (schema: z.ZodType, description?: string) => ({ ...(description ? { description } : {}), required: true, content: { 'application/json': { schema } } });
/** A body that may be left out (every field optional). */
export const optionalBody = (schema: z.ZodType) => ({ ...body(schema), required: false });
export const noContent: ZodOpenApiResponseObject = { description: 'Deleted' };
export const LocationHeader = z.object({ Location: z.string().meta({ description: 'Where the new resource is' }) });

/** The error answers of these statuses: the document describes each once (ErrorNNN, with the error codes it can carry). */
export const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/Error${s}` }]));
/** Every /v1 operation: a bearer key, checked and rate-limited before anything else. */
export const V1 = [401, 429, 500, 503] as const;
/** Every /v1 operation that reads a JSON body. */
export const BODY = [400, 413, 415, 422] as const;

export const pathIds = (...names: string[]) => z.object(Object.fromEntries(names.map((n) => [n, Uuid])));
export const currencyPath = (...names: string[]) => z.object(Object.fromEntries(names.map((n) => [n, CurrencyCode.meta({ example: 'USD' })])));

const IdempotencyKeyText = z
  .string()
  .regex(KEY_FORMAT)
  .meta({ description: '1-255 printable ASCII characters (a UUID is recommended). The same key with the same body replays the first answer (with `Idempotent-Replayed: true`); with another body it is 422 `idempotency_key_reused`. Scoped per customer for client keys, per key for admins.' });
const IDEMPOTENCY_HEADERS = {
  required: z.object({ 'Idempotency-Key': IdempotencyKeyText.meta({ param: { id: 'IdempotencyKeyRequired' } }) }),
  optional: z.object({ 'Idempotency-Key': IdempotencyKeyText.optional().meta({ param: { id: 'IdempotencyKey' } }) }),
};
export const idempotencyHeader = (required: boolean) => (required ? IDEMPOTENCY_HEADERS.required : IDEMPOTENCY_HEADERS.optional);

export const page = <S extends z.ZodType>(item: S) => z.object({ data: z.array(item), next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last' }) });
export const list = <S extends z.ZodType>(item: S) => z.object({ data: z.array(item) });

// ---------- compile-time check: a presenter's JSON is what its schema documents ----------

/** What JSON.stringify makes of a value: dates become ISO strings. */
type Jsonified<T> = T extends Date ? string : T extends ReadonlyArray<infer U> ? Jsonified<U>[] : T extends object ? { [K in keyof T]: Jsonified<T[K]> } : T;
/**
 * True when the presented value fits the schema's output and has no field the schema does not
 * name: `type _Checked = Assert<Documents<typeof Schema, ReturnType<typeof present>>>` does not
 * compile when a presenter gains a field its response schema does not document.
 */
export type Documents<S extends z.ZodType, T> = [Jsonified<T>] extends [z.output<S>] ? ([Exclude<keyof Jsonified<T>, keyof z.output<S>>] extends [never] ? true : false) : false;
export type Assert<T extends true> = T;

/**
 * zod-openapi describes a request by what it accepts: a query number such as `limit` is parsed
 * from text by a transform (src/http/pagination.ts), which accepts any input, so it is described
 * by what it parses to instead (a whole number with its range and default).
 */
type Def = { type: string; in?: z.core.$ZodType; out?: z.core.$ZodType; innerType?: z.core.$ZodType; defaultValue?: unknown };
const defOf = (schema: z.core.$ZodType | undefined): Def | undefined => schema?._zod.def as Def | undefined;
/** pipe(pipe(unknown, transform), <what it parses to>): src/http/pagination.ts's wholeNumberParam. */
const isParsedFromText = (schema: z.core.$ZodType | undefined) => {
  const def = defOf(schema);
  return def?.type === 'pipe' && defOf(def.in)?.type === 'pipe' && defOf(defOf(def.in)?.out)?.type === 'transform';
};
export const describeParsedNumbers: CreateDocumentOptions['override'] = ({ zodSchema, jsonSchema, io }) => {
  if (io !== 'input') return;
  const def = defOf(zodSchema);
  if (def?.type === 'default' && isParsedFromText(def.innerType)) jsonSchema.default = def.defaultValue;
  if (def?.type === 'pipe' && def.out && isParsedFromText(zodSchema)) {
    const parsed = z.toJSONSchema(def.out, { io: 'output' }) as Record<string, unknown>;
    delete parsed.$schema;
    Object.assign(jsonSchema, parsed, parsed.type === 'number' ? { type: 'integer' } : {});
  }
};
