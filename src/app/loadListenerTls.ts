// Reads and checks the files of `listen.tls`: the certificate chain, its private key (they must be a
// pair), and the client CA bundle; a certificate outside its validity period is a warning. Used by
// check-config (problems at their key paths) and by the listeners at start and on every file change.
// Messages never quote a file's content.
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { createSecureContext } from "node:tls";

export interface ListenerTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile: string | null;
  readonly minVersion: "TLSv1.2" | "TLSv1.3";
}

export type TlsFileKey = "certFile" | "keyFile" | "clientCaFile";

export interface TlsFileIssue {
  readonly key: TlsFileKey;
  readonly message: string;
}

/** What a listener serves: the PEM bytes for a secure context, and the leaf certificate's facts for logs. */
export interface LoadedTls {
  readonly context: { readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer };
  /** The leaf certificate's serial number (hex) and validity, for log lines and the expiry gauge. */
  readonly serial: string;
  readonly notAfterMs: number;
  readonly warnings: readonly TlsFileIssue[];
}

export type TlsLoad =
  { readonly ok: true; readonly tls: LoadedTls } | { readonly ok: false; readonly problems: readonly TlsFileIssue[] };

const MAX_BYTES = 1024 * 1024;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** `nowMs`: the injected clock's time, for the validity warnings. */
export function loadListenerTls(files: ListenerTlsFiles, nowMs: number): TlsLoad {
  const problems: TlsFileIssue[] = [];
  const cert = readPem(files.certFile, "certFile", problems);
  const key = readPem(files.keyFile, "keyFile", problems);
  const ca = files.clientCaFile === null ? undefined : readPem(files.clientCaFile, "clientCaFile", problems);
  if (cert === null || key === null || ca === null) return { ok: false, problems };
  const leaf = parseCertificates(cert, "certFile", problems)[0];
  const privateKey = parseKey(key, problems);
  if (ca !== undefined) parseCertificates(ca, "clientCaFile", problems);
  if (leaf === undefined || privateKey === null || problems.length > 0) return { ok: false, problems };
  if (!leaf.checkPrivateKey(privateKey)) {
    return {
      ok: false,
      problems: [
        {
          key: "keyFile",
          message: `is not the private key of the certificate in ${files.certFile}: use the pair issued together`,
        },
      ],
    };
  }
  const context = ca === undefined ? { cert, key } : { cert, key, ca };
  try {
    createSecureContext({ ...context, minVersion: files.minVersion });
  } catch (error) {
    const code = (error as { code?: string }).code ?? "error";
    return { ok: false, problems: [{ key: "certFile", message: `cannot be used for TLS (${code})` }] };
  }
  return {
    ok: true,
    tls: {
      context,
      serial: leaf.serialNumber,
      notAfterMs: Date.parse(leaf.validTo),
      warnings: validityWarnings(leaf, files.certFile, nowMs),
    },
  };
}

function readPem(file: string, key: TlsFileKey, problems: TlsFileIssue[]): Buffer | null {
  try {
    if (statSync(file).size > MAX_BYTES) {
      problems.push({ key, message: `${file} is larger than 1 MiB: it should hold PEM text` });
      return null;
    }
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    problems.push({
      key,
      message: `cannot read ${file} (${code}): mount the TLS Secret there, readable by Portcullis`,
    });
    return null;
  }
}

function parseCertificates(pem: Buffer, key: TlsFileKey, problems: TlsFileIssue[]): X509Certificate[] {
  const blocks = pem.toString("utf8").match(PEM_CERTIFICATE) ?? [];
  const certificates: X509Certificate[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      problems.push({ key, message: `certificate ${index + 1} is not a valid X.509 certificate` });
    }
  }
  if (blocks.length === 0) {
    problems.push({ key, message: "holds no PEM certificate (-----BEGIN CERTIFICATE-----)" });
  }
  return certificates;
}

function parseKey(pem: Buffer, problems: TlsFileIssue[]): KeyObject | null {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    // The library's message may describe the content; only its code is kept.
    const code = (error as { code?: string }).code ?? "error";
    problems.push({ key: "keyFile", message: `holds no unencrypted PEM private key (${code})` });
    return null;
  }
}

function validityWarnings(leaf: X509Certificate, file: string, nowMs: number): TlsFileIssue[] {
  const notBefore = Date.parse(leaf.validFrom);
  const notAfter = Date.parse(leaf.validTo);
  if (nowMs > notAfter) {
    return [
      {
        key: "certFile",
        message: `the certificate in ${file} expired on ${new Date(notAfter).toISOString()}: clients will refuse it`,
      },
    ];
  }
  if (nowMs < notBefore) {
    return [
      {
        key: "certFile",
        message: `the certificate in ${file} is not valid before ${new Date(notBefore).toISOString()}: clients will refuse it until then`,
      },
    ];
  }
  return [];
}
