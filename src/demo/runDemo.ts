// `portcullis demo`: runs the demo in the foreground, prints where it is and what to try, and
// stops every part on Ctrl-C / SIGTERM (exit 0). Exit 1 when it cannot start (a port is taken,
// Envoy missing) or when Envoy dies underneath it. Arguments are parsed by the command line
// (src/cli/parseDemoArgs.ts); the URLs printed follow the ports the demo bound.

import { DEMO_MACHINE_CLIENT_ID, DEMO_MACHINE_SPIFFE_ID } from "./demoConfig.ts";
import { demoDir } from "./demoState.ts";
import { DEFAULT_DEMO_PORTS } from "./demoPorts.ts";
import type { DemoPorts } from "./demoPorts.ts";
import { startDemo } from "./startDemo.ts";
import type { RunningDemo } from "./startDemo.ts";

export async function runDemo(options: { readonly ports: Partial<DemoPorts> }): Promise<number> {
  const dir = demoDir();
  process.stdout.write("Starting the Portcullis demo (dev IdP, Portcullis, Envoy, echo upstream)...\n");
  let demo: RunningDemo;
  try {
    demo = await startDemo({ dir, ports: options.ports });
  } catch (error) {
    process.stderr.write(`portcullis demo: could not start: ${(error as Error).message}\n`);
    return 1;
  }
  process.stdout.write(readyText(demo));

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (code: number, why: string) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`\n${why}: stopping Envoy, Portcullis, the dev IdP and the upstream...\n`);
      void demo.stop().then(() => {
        process.stdout.write("Demo stopped.\n");
        resolve(code);
      });
    };
    process.on("SIGINT", () => shutdown(0, "Ctrl-C"));
    process.on("SIGTERM", () => shutdown(0, "SIGTERM"));
    process.on("SIGHUP", () => shutdown(0, "SIGHUP"));
    void demo.envoyExited.then(() => {
      if (!stopping) process.stderr.write(`Envoy exited unexpectedly; see ${demo.logFiles.envoy}\n`);
      shutdown(1, "Envoy exited");
    });
  });
}

function readyText(demo: RunningDemo): string {
  const url = demo.entryUrl;
  // Without --port, `demo token` asks the demo on the default port when several run.
  const token = demo.ports.https === DEFAULT_DEMO_PORTS.https ? "demo token" : `demo token --port ${demo.ports.https}`;
  return `
Portcullis demo ready: ${url}

  Envoy (TLS, self-signed cert for localhost)  ${url}
  Envoy mTLS entry (client certificate)        ${demo.mtls.entryUrl}
  Portcullis admin (metrics, health)           ${demo.adminUrl}/metrics
  Dev IdP (issuer)                             ${demo.issuer}
  Echo upstream                                http://127.0.0.1:${demo.ports.upstream}
  Logs                                         ${demo.logFiles.portcullis}, ${demo.logFiles.envoy}

Open ${url}/ in a browser: sign in at the dev IdP as alice (password alice) or bob (password
bob) and see the identity the upstream received. ${url}/secure/ asks for a second factor.

Try (in another terminal):
  curl -k ${url}/public/x                 # public route: 200, the upstream echoes the request
  curl -k ${url}/api/x                    # protected: 401 with WWW-Authenticate: Bearer
  curl -k -H "Authorization: Bearer $(bin/portcullis ${token})" ${url}/api/x
                                          # 200: scope api.read; the upstream sees x-client-id
  curl -k -H "Authorization: Bearer $(bin/portcullis ${token} --scope openid)" ${url}/api/x
                                          # 403 insufficient_scope
  curl -k -H "Authorization: Bearer $(bin/portcullis ${token} --user alice)" ${url}/admin/x
                                          # 200: alice has the admin role (bob gets 403)
  curl -k -H "Authorization: Bearer $(bin/portcullis ${token} --client demo-batch)" ${url}/internal/x
                                          # 200: only the machine client demo-batch
  curl ${demo.adminUrl}/metrics | grep ^portcullis_
${mtlsText(demo, token)}
Press Ctrl-C to stop.
`;
}

/** The mTLS entry: the demo machine's certificate (SPIFFE ID), a token bound to it, and what is refused. */
function mtlsText(demo: RunningDemo, token: string): string {
  const { entryUrl, serverCertFile, clientCertFile, clientKeyFile } = demo.mtls;
  const curl = `curl --cacert ${serverCertFile} --cert ${clientCertFile} --key ${clientKeyFile}`;
  const bound = `$(bin/portcullis ${token} --user alice --bound-to-cert)`;
  return `
mTLS entry ${entryUrl}: a client certificate from the demo's CA (the demo machine's, SPIFFE ID
${DEMO_MACHINE_SPIFFE_ID}); the TLS handshake refuses any other:
  ${curl} ${entryUrl}/machines/x
                                          # 200 without a token: the upstream sees x-client-id ${DEMO_MACHINE_CLIENT_ID}
  ${curl} -H "Authorization: Bearer ${bound}" ${entryUrl}/bound/x
                                          # 200: a token bound to this certificate (cnf x5t#S256, RFC 8705)
  curl -k -i -H "Authorization: Bearer ${bound}" ${demo.entryUrl}/bound/x
                                          # 401: the same token without the certificate
  ${curl} -i -H "Authorization: Bearer $(bin/portcullis ${token} --user alice)" ${entryUrl}/bound/x
                                          # 401 bound_token_required: a plain bearer token
`;
}
