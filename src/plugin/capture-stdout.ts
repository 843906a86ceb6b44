// `import "driverplug/plugin/capture-stdout"`: the one entry with a side
// effect, for drivers whose modules write to stdout at their top level (or
// import libraries that do). Imported first in the plugin's entry module, it
// starts capturing process.stdout and process.stderr at once when a host
// launched this process (PLUGIN_PROTOCOL_VERSIONS set, as every go-plugin and
// driverplug host does, or driverplug's default cookie set), so nothing can
// reach stdout ahead of the handshake; serve() logs what it kept. Without it,
// capture starts in serve().
import { launchedAsPlugin, processStdio } from "./stdio-capture.js";

if (launchedAsPlugin(process.env)) processStdio.install();
