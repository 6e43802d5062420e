// The OAuth 2.0 client-credentials grant over HTTP, as `demo token` and the tests use it against
// the dev IdP: client_secret_basic, one resource indicator, a 5 s timeout.

export interface ClientCredentialsRequest {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
  readonly resource: string;
}

export async function fetchClientCredentialsToken(request: ClientCredentialsRequest): Promise<string> {
  const body = new URLSearchParams({ grant_type: "client_credentials", resource: request.resource });
  if (request.scopes.length > 0) body.set("scope", request.scopes.join(" "));
  const basic = Buffer.from(
    `${encodeURIComponent(request.clientId)}:${encodeURIComponent(request.clientSecret)}`,
  ).toString("base64");
  const response = await fetch(request.tokenEndpoint, {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body,
    signal: AbortSignal.timeout(5000),
  });
  const json = (await response.json()) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || typeof json.access_token !== "string") {
    throw new Error(
      `token endpoint answered ${response.status}: ${json.error ?? "no access_token"}${json.error_description ? ` (${json.error_description})` : ""}`,
    );
  }
  return json.access_token;
}
