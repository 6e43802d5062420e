// The identity section the gate tests share: the default header names, roles from `roles`, no
// context header, the Authorization header removed. One copy, so a new IdentityConfig field is added
// in one place.
import type { IdentityConfig } from "../../src/config/PortcullisConfig.ts";
import { DEFAULT_IDENTITY_HEADER_NAMES } from "./defaultIdentityHeaderNames.ts";

export const PLAIN_IDENTITY: IdentityConfig = {
  headers: DEFAULT_IDENTITY_HEADER_NAMES,
  roleClaims: ["roles"],
  claimHeaders: {},
  context: { enabled: false, fields: {} },
  maxHeaderBytes: 4096,
  forwardAuthorization: false,
};
