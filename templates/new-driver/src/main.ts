// The plugin's entry point: serve the driver. serve() does the plugin
// protocol (the magic cookie check, a private socket, the handshake line,
// health, logs as JSON lines on stderr) and exits the process itself when it
// cannot start. Given a factory, it keeps one MachineDriver per machine, so one
// plugin process can serve every machine a host command touches (each call
// names its machine). Not awaited: an entry without top-level await can be
// bundled (`npm run bundle`).
import { serve } from "driverplug/plugin";
import { MachineDriver } from "./driver.js";

void serve({ name: "__DRIVER__", version: "0.1.0", driver: () => new MachineDriver() });
