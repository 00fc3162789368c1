// Holds Shopify exchanges to Shopify's published Admin GraphQL schema (the
// introspection JSON Shopify ships in @shopify/dev-mcp), with graphql-js, the
// reference implementation: the document is validated (fields, arguments, enum
// literals), the variables are coerced as a server would (unknown input fields,
// wrong enum values, missing required fields), and the fake's answer is
// re-executed against the schema with the answer itself as the resolvers'
// source, so a field the schema does not have, a wrong scalar or enum, a list
// where an object belongs or a null where the schema forbids one is refused.

import {
  buildClientSchema, execute, getOperationAST, GraphQLError, NoDeprecatedCustomRule, parse,
  specifiedRules, validate,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';
import { isDeepStrictEqual } from 'node:util';

/** Loads the introspection result (`{ data: { __schema } }` or `{ __schema }`). */
export function loadSchema(introspection) {
  return buildClientSchema(introspection.data ?? introspection);
}

/** Problems with one GraphQL document and its variables ([] if none). */
export function checkRequest(schema, query, variables) {
  let document;
  try {
    document = parse(query);
  } catch (e) {
    return [`does not parse: ${e.message}`];
  }
  // Deprecated fields are refused too: Shopify removes them in a later version.
  const problems = validate(schema, document, [...specifiedRules, NoDeprecatedCustomRule])
    .map((e) => `invalid document: ${e.message}`);
  if (problems.length > 0) return problems;
  const operation = getOperationAST(document);
  if (!operation) return ['no single operation in the document'];
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  return (coerced.errors ?? []).map((e) => `variables: ${e.message}`);
}

/** Resolves each field from the recorded answer, under its alias if it has one. */
function answerFieldResolver(source, _args, _context, info) {
  if (source === null || typeof source !== 'object') return undefined;
  const key = info.path.key;
  if (!(key in source)) {
    throw new GraphQLError(`the answer leaves out ${info.parentType.name}.${info.fieldName}`);
  }
  return source[key];
}

/** The answer's `__typename`, else any implementation: a selection of only the
 * interface's own fields reads the same on each of them. */
function answerTypeResolver(value, _context, info, abstractType) {
  return value?.__typename ?? info.schema.getPossibleTypes(abstractType)[0]?.name;
}

/** Problems with one HTTP 200 answer to `query` ([] if none). */
export function checkResponse(schema, query, variables, body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return ['the answer is not a JSON object'];
  }
  const problems = [];
  const extra = Object.keys(body).filter((k) => !['data', 'errors', 'extensions'].includes(k));
  if (extra.length > 0) problems.push(`top-level keys a GraphQL answer cannot have: ${extra.join(', ')}`);
  if (!('data' in body) && !('errors' in body)) problems.push('neither data nor errors');
  if ('errors' in body) {
    if (!Array.isArray(body.errors) || body.errors.length === 0) {
      problems.push('errors must be a non-empty list');
    } else {
      for (const e of body.errors) {
        if (typeof e?.message !== 'string') problems.push(`an error without a message: ${JSON.stringify(e)}`);
        if (e?.path !== undefined && !Array.isArray(e.path)) problems.push('an error path that is not a list');
      }
    }
  }
  if (!('errors' in body) && (body.data === null || body.data === undefined)) {
    problems.push('data is null without errors');
  }
  if (body.data !== null && body.data !== undefined) {
    problems.push(...checkData(schema, query, variables, body.data));
  }
  return problems;
}

/** Re-executes the query over the recorded data: what comes out must be what went in. */
function checkData(schema, query, variables, data) {
  const result = execute({
    schema,
    document: parse(query),
    rootValue: data,
    variableValues: variables ?? {},
    fieldResolver: answerFieldResolver,
    typeResolver: answerTypeResolver,
  });
  if (typeof result?.then === 'function') return ['execution went asynchronous (unexpected)'];
  const problems = (result.errors ?? []).map(
    (e) => `data${e.path ? ` at ${e.path.join('.')}` : ''}: ${e.message}`,
  );
  // execute() builds null-prototype objects: compare plain JSON.
  const shaped = JSON.parse(JSON.stringify(result.data ?? null));
  if (problems.length === 0 && !isDeepStrictEqual(shaped, data)) {
    problems.push(`data holds what the query did not ask for, or in another type: sent ${JSON.stringify(data).slice(0, 400)}, schema-shaped ${JSON.stringify(shaped).slice(0, 400)}`);
  }
  return problems;
}

/** The connector's documents: every `pub const NAME: &str = "query|mutation …";` in its source. */
export function documentsInSource(rustSource) {
  const found = [];
  const re = /pub const ([A-Z_]+): &str =\s*("(?:[^"\\]|\\.)*");/g;
  for (const m of rustSource.matchAll(re)) {
    const text = JSON.parse(m[2]);
    if (/^\s*(query|mutation)\b/.test(text)) found.push({ name: m[1], query: text });
  }
  return found;
}

/** The API version in the pinned constant `SHOPIFY_API_VERSION`. */
export function pinnedVersion(rustSource) {
  const m = rustSource.match(/pub const SHOPIFY_API_VERSION: &str = "([0-9]{4}-[0-9]{2})";/);
  if (!m) throw new Error('SHOPIFY_API_VERSION not found in crates/connectors/src/shopify.rs');
  return m[1];
}
