#include "rhcore/config.h"

#include "rhcore/params_gen.h"
#include "robohead_schema_hash.h"

namespace rhcore {

static_assert(RH_PARAM_STATUS_HZ >= 1 && RH_PARAM_STATUS_HZ <= 5, "DeviceStatus runs at 1 to 5 Hz");
static_assert(RH_PARAM_CHANNELS >= 1 && RH_PARAM_CHANNELS <= kMaxChannels, "1..8 channels");

DeviceConfig default_config() {
  const DeviceConfig c = {
      ROBOHEAD_SCHEMA_HASH,
      RH_PARAM_FIRMWARE_VERSION,
      RH_PARAM_SAMPLING_RATE_HZ,
      0,
      RH_PARAM_SAMPLES_PER_FRAME,
      RH_PARAM_OVERSAMPLE,
      RH_PARAM_COMMAND_TIMEOUT_MS,
      1000u / RH_PARAM_STATUS_HZ,
      RH_PARAM_SERVO_LIMITS,
  };
  return c;
}

}  // namespace rhcore
