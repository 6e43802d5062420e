// A directory laid out as Kubernetes mounts a Secret: each file a symlink through `..data`, itself a
// symlink to a timestamped directory, and an update that swaps `..data` atomically (rename over it).
import { mkdir, rename, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface SecretDir {
  readonly dir: string;
  /** The path of the file `name` as Portcullis is told it. */
  file(name: string): string;
  /** Writes a new version of every file and swaps `..data` to it in one rename. */
  update(files: Readonly<Record<string, string>>): Promise<void>;
}

export async function createSecretDir(dir: string, files: Readonly<Record<string, string>>): Promise<SecretDir> {
  await mkdir(dir, { recursive: true });
  let version = 0;
  const update = async (next: Readonly<Record<string, string>>) => {
    version += 1;
    const data = `..${version}`;
    await mkdir(join(dir, data));
    for (const [name, content] of Object.entries(next))
      await writeFile(join(dir, data, name), content, { mode: 0o600 });
    await symlink(data, join(dir, "..data_tmp"));
    await rename(join(dir, "..data_tmp"), join(dir, "..data"));
  };
  await update(files);
  for (const name of Object.keys(files)) await symlink(join("..data", name), join(dir, name));
  return { dir, file: (name) => join(dir, name), update };
}
