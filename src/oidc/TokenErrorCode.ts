// Kept only until every importer reads the type from the error registry; remove then.
export type { TokenErrorCode } from "../errors/ErrorCode.ts";
