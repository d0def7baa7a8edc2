/**
 * Validators and response serializers compiled on first use. Fastify compiles
 * an Ajv validator for every request schema and a fast-json-stringify
 * serializer for every response schema of every route while the app starts:
 * code generation for a few hundred schemas, about half a second of every
 * gateway start. These factories hand Fastify the same functions (same
 * compilers, same options, same results: coercion and defaults still apply,
 * properties outside a response schema are still dropped), each compiled the
 * first time its route needs it. test/e2e/gateway.e2e.test.ts compiles every
 * route's schemas, so a broken schema still fails the tests rather than a
 * first request.
 */
import { AjvCompiler } from "@fastify/ajv-compiler";
import { SerializerSelector, type SerializerFactory } from "@fastify/fast-json-stringify-compiler";
import type { FastifySchemaCompiler, FastifySchemaValidationError } from "fastify";

type ValidatorFactory = ReturnType<typeof AjvCompiler>;
type RouteSchema = Parameters<FastifySchemaCompiler<unknown>>[0];

export function lazySerializerFactory(): SerializerFactory {
  const build = SerializerSelector();
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options);
    return (route) => {
      let serializer: ((doc: unknown) => string) | undefined;
      return (doc: unknown) => (serializer ??= compile(route))(doc);
    };
  };
}

/** An Ajv validate function as Fastify calls it (validation.js `validateParam`). */
interface AjvValidate {
  (data: unknown, context?: { parentData: unknown; parentDataProperty: string }): boolean;
  errors?: FastifySchemaValidationError[] | null;
  schemaEnv?: unknown;
}

/**
 * Ajv validators compiled on first use. Fastify reads `schemaEnv` (to let Ajv
 * coerce a whole request part) and `errors` from the function it was given:
 * both are forwarded from the compiled validator.
 *
 * Fastify lower-cases the names in a headers schema unless the compiler is a
 * custom one, which this factory is: such schemas must name headers in lower
 * case already, and a route that does not is refused when it is registered.
 */
export function lazyValidatorFactory(): ValidatorFactory {
  const build = AjvCompiler();
  return ((externalSchemas: unknown, options: unknown) => {
    const compile = (build as (e: unknown, o: unknown) => (route: RouteSchema) => AjvValidate)(externalSchemas, options);
    return (route: RouteSchema): AjvValidate => {
      if (route.httpPart === "headers") assertLowerCaseHeaderNames(route);
      let validator: AjvValidate | undefined;
      const compiled = (): AjvValidate => (validator ??= compile(route));
      const lazy = ((data, context) => compiled()(data, context)) as AjvValidate;
      Object.defineProperties(lazy, {
        schemaEnv: { get: () => compiled().schemaEnv },
        errors: { get: () => compiled().errors },
      });
      return lazy;
    };
  }) as ValidatorFactory;
}

function assertLowerCaseHeaderNames(route: RouteSchema): void {
  const properties = (route.schema as { properties?: Record<string, unknown> } | null)?.properties ?? {};
  const named = [...Object.keys(properties), ...((route.schema as { required?: string[] } | null)?.required ?? [])];
  const upper = named.filter((name) => name !== name.toLowerCase());
  if (upper.length > 0) {
    throw new TypeError(`${route.method} ${route.url}: name headers in lower case in the headers schema (${upper.join(", ")})`);
  }
}
