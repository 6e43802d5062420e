// Reads one metric from Prometheus text exposition: the sum of every series of `name` whose
// labels include all of `labels` (0 when none matches).

export function readMetric(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    const seriesLabels: Record<string, string> = {};
    for (const pair of (match[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      seriesLabels[pair[1] as string] = pair[2] as string;
    }
    if (Object.entries(labels).every(([key, value]) => seriesLabels[key] === value)) sum += Number(match[4]);
  }
  return sum;
}
