// The type of what parseWithSchema builds from a schema node, so that the parsed config's types come
// from configSchema.ts and nowhere else: a key added there appears in the type, a key removed goes.
// It needs the nodes' literal types, which is why the schema is written `as const satisfies …Node`.

import type { StringFormat } from "./configFormats.ts";
import type { CustomResult } from "./configSchema.ts";

type Nullable<N, T> = N extends { readonly nullable: true } ? T | null : T;

type StringOutput<N> = N extends { readonly enum: readonly (infer E)[] }
  ? E
  : N extends { readonly format: StringFormat<infer T> }
    ? T
    : string;

type OutputKey<K, N> = N extends { readonly outputKey: infer O extends string } ? O : K;

/** One object type instead of an intersection, so editors and error messages show plain fields. */
type Flatten<T> = { readonly [K in keyof T]: T[K] };

type ObjectOutput<F> = Flatten<
  {
    readonly [K in keyof F as F[K] extends { readonly typeOptional: true } ? never : OutputKey<K, F[K]>]: SchemaOutput<
      F[K]
    >;
  } & {
    readonly [K in keyof F as F[K] extends { readonly typeOptional: true } ? OutputKey<K, F[K]> : never]?: SchemaOutput<
      F[K]
    >;
  }
>;

/** A map's value, with the map key copied in under `keyInto` when the node says so. */
type MapValue<N, V> = N extends { readonly keyInto: infer K extends string }
  ? Flatten<{ readonly [P in K]: string } & V>
  : V;

export type SchemaOutput<N> = N extends { readonly kind: "string" }
  ? Nullable<N, StringOutput<N>>
  : N extends { readonly kind: "integer" }
    ? number
    : N extends { readonly kind: "boolean" }
      ? boolean
      : N extends { readonly kind: "list"; readonly items: infer I }
        ? Nullable<N, readonly SchemaOutput<I>[]>
        : N extends { readonly kind: "object"; readonly fields: infer F }
          ? ObjectOutput<F>
          : N extends { readonly kind: "map"; readonly values: infer V }
            ? Readonly<Record<string, MapValue<N, SchemaOutput<V>>>>
            : N extends { readonly kind: "custom"; parse(...args: never[]): CustomResult<infer T> }
              ? T
              : never;

/**
 * What the walk gives when some values failed (the cross-field rules read it so): any object key
 * may be missing and a list may hold undefined where an item failed; a map drops a failed entry.
 */
export type PartialOutput<T> = T extends readonly (infer E)[]
  ? readonly (PartialOutput<E> | undefined)[]
  : T extends object
    ? string extends keyof T
      ? { readonly [K in keyof T]: PartialOutput<T[K]> }
      : { readonly [K in keyof T]?: PartialOutput<T[K]> }
    : T;
