/**
 * Response serializers compiled on first use. Fastify compiles a
 * fast-json-stringify serializer for every response schema of every route
 * while the app starts: code generation for a few hundred schemas, about a
 * third of a second of every gateway start. This factory hands Fastify the
 * same serializers (same compiler, same options, same output: properties
 * outside the schema are still dropped), each compiled the first time its
 * route answers with that status.
 */
import { SerializerSelector, type SerializerFactory } from "@fastify/fast-json-stringify-compiler";

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
