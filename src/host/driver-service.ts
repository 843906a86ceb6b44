// The driver service as hosts call it: the generated grpc-js definition, with
// each request encoded straight into the Buffer grpc-js sends (the generated
// serializer copies it once more: a 1 MiB SetConfig twice over).
import { DriverServiceDefinition, DriverServiceService } from "../../generated/driverplug/driver/v1/driver.js";
import { withDirectRequestEncoding } from "../protocol/message-types.js";

export const hostDriverService: typeof DriverServiceService = withDirectRequestEncoding(
  DriverServiceService,
  DriverServiceDefinition,
);
