export { ERROR_CATALOGUE, PROBLEM_TYPE_BASE, problemTypeFor, type ErrorCode } from "./catalogue.js";
export {
  PasserelleError,
  badRequest,
  forbidden,
  notFound,
  unauthenticated,
  type InvalidParam,
  type PasserelleErrorOptions,
} from "./passerelle-error.js";
