// A required route on localhost at /<name> whose upstream gets the signed identity assertion for the
// audience <name>, as the assertion end-to-end tests configure their upstreams.
export function assertedRoute(name: string) {
  return {
    name,
    match: { host: "localhost", path: `/${name}` },
    auth: "required",
    assertion: { enabled: true, audience: name },
  } as const;
}
