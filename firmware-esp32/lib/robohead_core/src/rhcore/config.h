// The device's run-time configuration; defaults come from params.yaml via params_gen.h.
#ifndef RHCORE_CONFIG_H
#define RHCORE_CONFIG_H

#include <stdint.h>

#include "rhcore/hal.h"
#include "rhcore/servo.h"

namespace rhcore {

// Servo PWM frame and slew tick: standard hobby servos expect a 50 Hz frame, and
// ServoLimits.max_step_us is defined per 20 ms tick in device.proto.
static const uint32_t kServoTickUs = 20000;

// Bounds of what SetConfig may ask for.
static const uint32_t kMinSamplingRateHz = 50;
static const uint32_t kMaxSamplingRateHz = 4000;
static const uint32_t kMinCommandTimeoutMs = 50;
static const uint32_t kMaxCommandTimeoutMs = 10000;

struct DeviceConfig {
  uint32_t schema_hash;         // ours, sent in Hello and compared with every Ping's
  const char* firmware_version;
  uint32_t sampling_rate_hz;    // per channel, after averaging
  uint32_t channel_mask;        // channels sent; 0 = every channel the board scans
  uint16_t samples_per_frame;
  uint16_t oversample;          // minimum factor; raised to reach the ADC's minimum rate
  uint32_t command_timeout_ms;
  uint32_t status_period_ms;    // DeviceStatus period (200 .. 1000 ms, i.e. 1 to 5 Hz)
  ServoLimits servos[kMotorCount];
};

// params.yaml's values and the generated schema hash.
DeviceConfig default_config();

}  // namespace rhcore

#endif  // RHCORE_CONFIG_H
