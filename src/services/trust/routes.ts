/**
 * The generic trust routes, a Fastify plugin for the authenticated /v1
 * scope: sign a PDF (PAdES) or an XML document (XML-DSig, XAdES), time-stamp
 * a digest (RFC 3161), verify a signed PDF or XML document, and list the
 * signers and trust anchors.
 *
 * Documents are request and response bodies of their own media type. The
 * media type is checked when the request arrives, before the body is read;
 * the body is read whole (up to BODY_LIMIT_BYTES) as bytes, and parsed only
 * by the protocol modules, which refuse what they do not accept (DTDs before
 * anything is expanded, non-PDF input, encrypted PDFs).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { unauthenticated } from "../../errors/index.js";
import { callerGoneSignal } from "../../http/caller-gone.js";
import { V1_PROBLEMS, problemResponses } from "../../http/schemas.js";
import { emptyBody, unsupportedMediaType } from "./errors.js";
import {
  CertificatesResponseSchema,
  PDF_MEDIA_TYPE,
  PdfVerdictSchema,
  SignPdfQuerySchema,
  SignXmlQuerySchema,
  TimestampBodySchema,
  TimestampResponseSchema,
  XML_MEDIA_TYPES,
  XmlVerdictSchema,
  binaryBody,
  binaryResponse,
  type SignPdfQuery,
  type SignXmlQuery,
  type TimestampBody,
} from "./schemas.js";
import type { TrustCallContext, TrustService } from "./service.js";

const TAGS = ["trust"];
const SECURITY: Array<Record<string, string[]>> = [{ apiKey: [] }, { bearer: [] }];

export interface TrustRoutesOptions {
  /** Largest document accepted (BODY_LIMIT_BYTES). */
  bodyLimit: number;
}

function contextOf(request: FastifyRequest, reply: FastifyReply): TrustCallContext {
  const caller = request.caller;
  if (!caller) throw unauthenticated("Authentication required");
  return { caller: { id: caller.id, roles: caller.roles }, requestId: request.id, signal: callerGoneSignal(reply) };
}

function mediaTypeOf(request: FastifyRequest): string | undefined {
  const header = request.headers["content-type"];
  const value = Array.isArray(header) ? header[0] : header;
  const type = value?.split(";")[0]?.trim().toLowerCase();
  return type === "" ? undefined : type;
}

/** onRequest: refuse another media type before the body is read (415). */
function requireMediaType(accepted: readonly string[]) {
  return async (request: FastifyRequest): Promise<void> => {
    const type = mediaTypeOf(request);
    if (type === undefined || !accepted.includes(type)) throw unsupportedMediaType(type, accepted);
  };
}

function documentOf(request: FastifyRequest, mediaType: string): Buffer {
  const body = request.body;
  if (!Buffer.isBuffer(body) || body.length === 0) throw emptyBody(mediaType);
  return body;
}

export function trustRoutes(service: TrustService, options: TrustRoutesOptions): FastifyPluginAsync {
  return async (v1) => {
    // Encapsulated in this plugin: other /v1 routes keep refusing these media types.
    v1.addContentTypeParser([PDF_MEDIA_TYPE, ...XML_MEDIA_TYPES], { parseAs: "buffer", bodyLimit: options.bodyLimit }, (_request, body, done) => {
      done(null, body);
    });

    v1.post(
      "/sign/pdf",
      {
        onRequest: requireMediaType([PDF_MEDIA_TYPE]),
        schema: {
          tags: TAGS,
          summary: "Sign a PDF (PAdES baseline B-T, or B-B): the signed PDF comes back, as an incremental update",
          description:
            "The signature dictionary is ETSI.CAdES.detached with the ESS signing-certificate-v2 attribute; B-T adds an RFC 3161 " +
            "signature time-stamp from the configured TSA. The signer's certificate is validated (validity, revocation, key usage) " +
            "before the key is used. Nothing is returned unless the whole signature, time-stamp included, succeeded.",
          security: SECURITY,
          consumes: [PDF_MEDIA_TYPE],
          querystring: SignPdfQuerySchema,
          body: binaryBody(PDF_MEDIA_TYPE, "The PDF to sign"),
          response: {
            200: binaryResponse([PDF_MEDIA_TYPE], "The signed PDF (X-Signer names the signer used)"),
            ...problemResponses(...V1_PROBLEMS, 404, 413, 415, 422, 502, 504),
          },
        },
      },
      async (request, reply) => {
        const query = request.query as SignPdfQuery;
        const signed = await service.signPdf(contextOf(request, reply), documentOf(request, PDF_MEDIA_TYPE), query);
        return reply.type(PDF_MEDIA_TYPE).header("x-signer", signed.signer).send(signed.pdf);
      },
    );

    v1.post(
      "/sign/xml",
      {
        onRequest: requireMediaType(XML_MEDIA_TYPES),
        schema: {
          tags: TAGS,
          summary: "Sign an XML document: enveloped XML-DSig (RSA-SHA256, exclusive C14N), or XAdES-BES with ?xades=true",
          description:
            "The signature covers the whole document (Reference URI=\"\") and is appended to the document element; KeyInfo carries " +
            "the signer's certificate chain. DTDs and entity declarations are refused before anything is expanded.",
          security: SECURITY,
          consumes: [...XML_MEDIA_TYPES],
          querystring: SignXmlQuerySchema,
          body: binaryBody(XML_MEDIA_TYPES[0], "The XML document to sign (UTF-8, UTF-16 or the encoding its declaration names)"),
          response: {
            200: binaryResponse([XML_MEDIA_TYPES[0]], "The signed document, UTF-8 (X-Signer names the signer used)"),
            ...problemResponses(...V1_PROBLEMS, 404, 413, 415, 422),
          },
        },
      },
      async (request, reply) => {
        const query = request.query as SignXmlQuery;
        const signed = await service.signXml(contextOf(request, reply), documentOf(request, XML_MEDIA_TYPES[0]), query);
        return reply.type("application/xml; charset=utf-8").header("x-signer", signed.signer).send(signed.xml);
      },
    );

    v1.post(
      "/timestamp",
      {
        // The document parsers above are in scope here too: without this, a PDF body would reach the JSON schema.
        onRequest: requireMediaType(["application/json"]),
        schema: {
          tags: TAGS,
          summary: "Time-stamp a digest (RFC 3161): the TSA's token, verified, base64 in JSON",
          description:
            "Hash the data yourself and send only the digest: the document never leaves your side. The token is checked " +
            "(TSA signature, time-stamping certificate chaining to the trust anchors, imprint, nonce) before it is returned.",
          security: SECURITY,
          body: TimestampBodySchema,
          response: { 200: TimestampResponseSchema, ...problemResponses(...V1_PROBLEMS, 502, 504) },
        },
      },
      async (request, reply) => service.timestamp(contextOf(request, reply), request.body as TimestampBody),
    );

    v1.post(
      "/verify/pdf",
      {
        onRequest: requireMediaType([PDF_MEDIA_TYPE]),
        schema: {
          tags: TAGS,
          summary: "Verify every signature of a PDF: integrity, signer, time-stamp and certificate chain, with reasons",
          description: "A verdict, not an error: a PDF whose signatures do not verify is a 200 with valid=false and the reasons. A body that is not a PDF is a 422.",
          security: SECURITY,
          consumes: [PDF_MEDIA_TYPE],
          body: binaryBody(PDF_MEDIA_TYPE, "The signed PDF"),
          response: { 200: PdfVerdictSchema, ...problemResponses(...V1_PROBLEMS, 413, 415, 422) },
        },
      },
      async (request, reply) => service.verifyPdf(contextOf(request, reply), documentOf(request, PDF_MEDIA_TYPE)),
    );

    v1.post(
      "/verify/xml",
      {
        onRequest: requireMediaType(XML_MEDIA_TYPES),
        schema: {
          tags: TAGS,
          summary: "Verify the enveloped signature of an XML document; returns the signed content only",
          description:
            "The key is trusted only when its certificate validates against the gateway's trust anchors: KeyInfo merely proposes it. " +
            "Read the data from signedElements, never from the document you sent: anything outside them is unauthenticated " +
            "(the defence against signature wrapping). A rejected signature is a 200 with valid=false and a reason; XML that " +
            "cannot be parsed, or that has a DTD, is a 400.",
          security: SECURITY,
          consumes: [...XML_MEDIA_TYPES],
          body: binaryBody(XML_MEDIA_TYPES[0], "The signed XML document"),
          response: { 200: XmlVerdictSchema, ...problemResponses(...V1_PROBLEMS, 413, 415) },
        },
      },
      async (request, reply) => service.verifyXml(contextOf(request, reply), documentOf(request, XML_MEDIA_TYPES[0])),
    );

    v1.get(
      "/trust/certificates",
      {
        schema: {
          tags: TAGS,
          summary: "The signers this caller may use, with their certificate chains, and the trust anchors (PEM)",
          security: SECURITY,
          response: { 200: CertificatesResponseSchema, ...problemResponses(...V1_PROBLEMS) },
        },
      },
      async (request, reply) => service.certificates(contextOf(request, reply)),
    );
  };
}
