// The names of the ambiguous path shapes `policy.allowPathShapes` may let through. The config owns
// the vocabulary (its schema lists these values); core/normalizePath.ts owns what each shape is,
// how it is found, and what letting it through exposes, in a table keyed by exactly these names.

export const PATH_SHAPE_NAMES = [
  "pathParameters",
  "encodedPercent",
  "trailingDot",
  "trailingWhitespace",
  "invalidUtf8",
] as const;

export type PathShape = (typeof PATH_SHAPE_NAMES)[number];
