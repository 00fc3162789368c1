// Holds recorded requests to a platform's published OpenAPI description (3.0 for
// Salesforce's SCAPI, Swagger 2.0 for Adobe Commerce's REST schema): the path and
// method must be an operation the platform documents, every query parameter one
// it declares (required ones present, values of the declared type and enum), and
// the body valid against the operation's schema (JSON Schema, checked with Ajv).
// Objects are closed: a property the schema does not name is refused, except the
// `c_` custom attributes SCAPI declares as "Additional Property Support".

import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** Deep copy with every local `$ref` pointed at the whole document (added to Ajv as `spec`). */
function prepare(node, insideComposition = false) {
  if (Array.isArray(node)) return node.map((n) => prepare(n, insideComposition));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/')) out[k] = `spec${v}`;
    else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') out[k] = v.map((n) => prepare(n, true));
    else out[k] = prepare(v, false);
  }
  closeObject(out, insideComposition);
  return out;
}

/** Makes an object schema refuse properties it does not declare. */
function closeObject(schema, insideComposition) {
  const isObject = schema.type === 'object' || (schema.properties && !schema.type);
  if (!isObject || insideComposition) return;
  const extra = schema.additionalProperties;
  if (extra && typeof extra === 'object' && /Additional Property Support/.test(extra.title ?? '')) {
    schema.patternProperties = { '^c_': {} };
    schema.additionalProperties = false;
  } else if (extra === undefined && schema.properties) {
    schema.additionalProperties = false;
  }
}

/** `/a/{id}/b` → /^\/a\/([^/]+)\/b$/ */
function templateRegex(template) {
  const literal = (s) => s.replace(/[.*+?^$()|[\]\\{}\/]/g, '\\$&');
  return new RegExp(`^${template.split(/\{[^}]+\}/).map(literal).join('([^/]+)')}$`);
}

/** A query string value read as the declared scalar type (unchanged if it is not one). */
function scalar(type, value) {
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

/** One platform description: its operations by path template, ready to check requests. */
export class Spec {
  constructor(file) {
    this.file = file;
    const raw = parseYaml(readFileSync(file, 'utf8'), { maxAliasCount: -1 });
    this.swagger2 = raw.swagger === '2.0';
    this.basePath = this.swagger2 ? '' : new URL(raw.servers[0].url.replace('{shortCode}', 'x')).pathname;
    this.doc = prepare(raw);
    this.ajv = new Ajv({ validateSchema: false, strict: false, allErrors: true, validateFormats: false, coerceTypes: false });
    this.ajv.addSchema({ ...this.doc, $id: 'spec' });
    this.queryAjv = new Ajv({ validateSchema: false, strict: false, allErrors: true, validateFormats: false, coerceTypes: 'array' });
    this.queryAjv.addSchema({ ...this.doc, $id: 'spec' });
    this.templates = Object.keys(raw.paths).map((template) => ({
      template,
      regex: templateRegex(template),
      literalSegments: template.split('/').filter((s) => s && !s.startsWith('{')).length,
    }));
  }

  /** The operation for a path (already without the server's base path) and method. */
  operation(path, method) {
    const matches = this.templates
      .filter((t) => t.regex.test(path))
      .sort((a, b) => b.literalSegments - a.literalSegments);
    if (matches.length === 0) return { problem: `no documented path matches ${path}` };
    for (const m of matches) {
      const item = this.doc.paths[m.template];
      const op = item[method.toLowerCase()];
      if (op) return { template: m.template, op, parameters: [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p) => this.deref(p)) };
    }
    return { problem: `${method} is not documented for ${matches[0].template}` };
  }

  deref(node) {
    let n = node;
    while (n && n.$ref) {
      const pointer = n.$ref.replace(/^spec#\//, '').split('/');
      n = pointer.reduce((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], this.doc);
    }
    return n;
  }

  /** Problems with one recorded request ([] if none). `normaliseQueryName` maps sent names to documented ones. */
  checkRequest(record, normaliseQueryName = (n) => n) {
    const path = record.path.slice(this.basePath.length);
    const found = this.operation(path, record.method);
    if (found.problem) return [found.problem];
    const where = `${record.method} ${found.template}`;
    const problems = [];
    const declared = new Map(found.parameters.filter((p) => p.in === 'query').map((p) => [p.name, p]));
    const sent = new Map();
    for (const [name, value] of new URLSearchParams(record.query ?? '')) {
      const documented = normaliseQueryName(name);
      sent.set(documented, [...(sent.get(documented) ?? []), value]);
    }
    for (const [name, values] of sent) {
      const p = declared.get(name);
      if (!p) { problems.push(`${where}: query parameter ${name} is not documented`); continue; }
      problems.push(...this.checkQueryValue(where, p, values));
    }
    for (const p of declared.values()) {
      if (p.required && !sent.has(p.name)) problems.push(`${where}: required query parameter ${p.name} missing`);
    }
    problems.push(...this.checkBody(where, found, record));
    return problems;
  }

  /** A declared array takes all values; any other type is checked value by value (SCAPI
   * documents repeating `refine`, Magento takes one filter per index). */
  checkQueryValue(where, p, values) {
    const schema = p.schema ?? { type: p.type, enum: p.enum, items: p.items };
    const validate = this.queryAjv.compile(schema);
    const candidates = schema.type === 'array'
      ? [values.length === 1 && (p.explode === false || this.swagger2) ? values[0].split(',') : values]
      : values.map((v) => scalar(schema.type, v));
    return candidates.flatMap((value) => (validate(value) ? [] : [`${where}: query parameter ${p.name}=${JSON.stringify(value)}: ${this.ajv.errorsText(validate.errors)}`]));
  }

  checkBody(where, found, record) {
    const text = record.request_body ?? '';
    const type = (record.request_content_type ?? '').split(';')[0].trim();
    let schema;
    let required = false;
    if (this.swagger2) {
      const p = found.parameters.find((x) => x.in === 'body');
      schema = p?.schema;
      required = Boolean(p?.required);
    } else if (found.op.requestBody) {
      const body = this.deref(found.op.requestBody);
      required = Boolean(body.required);
      const media = body.content?.[type];
      if (text !== '' && !media) return [`${where}: body of type ${type || '(none)'} is not documented (${Object.keys(body.content ?? {}).join(', ')})`];
      schema = media?.schema;
    }
    if (text === '') return required ? [`${where}: required body missing`] : [];
    if (!schema) return [`${where}: sends a body the operation does not take`];
    let value;
    if (type === 'application/x-www-form-urlencoded') {
      value = Object.fromEntries(new URLSearchParams(text));
    } else {
      try { value = JSON.parse(text); } catch (e) { return [`${where}: body is not JSON: ${e.message}`]; }
    }
    const validate = (type === 'application/x-www-form-urlencoded' ? this.queryAjv : this.ajv).compile(schema);
    return validate(value) ? [] : [`${where}: body: ${this.ajv.errorsText(validate.errors, { dataVar: 'body' })}`];
  }
}
