// The machine's SSH key pair: ed25519, made by ssh-keygen with no passphrase
// in the machine's private directory (private key 0600, as ssh requires).
import { promises as fs } from "node:fs";
import { runTool } from "./host-tools.js";

export async function makeSshKey(path: string, comment: string, signal?: AbortSignal): Promise<string> {
  await runTool("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], { signal });
  await fs.chmod(path, 0o600);
  return (await fs.readFile(`${path}.pub`, "utf8")).trim();
}
