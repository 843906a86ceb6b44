// The guest kernel's command line for direct-kernel bundles, the same under
// every backend: the bundle's own, plus the machine's SSH key (base64, so it
// is one word) and host name, which the test guest's init reads.

export function kernelCmdline(bundleCmdline: string, publicKeyLine: string, machineName: string): string {
  const key = Buffer.from(publicKeyLine.trim(), "utf8").toString("base64");
  return `${bundleCmdline.trim()} dp.authorized_key=${key} dp.hostname=${machineName}`.trim();
}
