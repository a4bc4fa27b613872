// The contract every platform (ESP32, POSIX simulator, unit-test fake) must fulfil for the core.
//
// The core (rhcore::Device) owns all protocol, sampling, servo and fail-safe logic and calls only
// these functions. A platform implements them without blocking: the core is driven by repeated
// Device::poll() calls from one thread (the ESP32 loop task, the simulator's main loop, a test),
// and never from an interrupt. Nothing here allocates.
//
// Time: now_us() is a monotonic microsecond clock starting near 0 at boot. Every timestamp the
// device sends (EmgFrame, DeviceStatus, Pong, Hello) is in this clock.
#ifndef RHCORE_HAL_H
#define RHCORE_HAL_H

#include <stddef.h>
#include <stdint.h>

namespace rhcore {

static const size_t kMotorCount = 3;   // the robot head has exactly three servos
static const size_t kMaxChannels = 8;  // sEMG channels the ADC may scan

// One raw conversion from the continuous ADC, in the order the hardware produced it.
struct AdcReading {
  uint16_t raw;     // raw counts, 0 .. 2^adc_bits - 1
  uint8_t channel;  // logical channel 0 .. adc_channels-1 (the platform maps ADC pins to these)
};

// What came with a block of readings from adc_read().
struct AdcBlockInfo {
  // Device time at which the LAST reading of the block completed. Late is tolerated (the
  // sampler takes the least-late block of each window); early is not.
  uint64_t t_last_us;
  // Conversions the platform knows were lost before this block (DMA pool overflow).
  uint32_t lost;
};

// What the core outputs every servo tick (50 Hz).
struct ServoFrame {
  uint64_t time_us;
  uint32_t pulse_us[kMotorCount];
  // Loop latency: arrival time of the newest command applied since the previous tick minus its
  // MotorCommand.window_end_device_time_us; valid only when has_latency.
  bool has_latency;
  uint32_t latency_us;
};

// Enum values are those of robohead.v1.ResetReason.
enum ResetReason : uint8_t {
  kResetUnknown = 0,
  kResetPowerOn = 1,
  kResetSoftware = 2,
  kResetPanic = 3,
  kResetWatchdog = 4,
  kResetBrownout = 5,
  kResetExternal = 6,
  kResetSimulator = 7,
};

// Static facts about the board, constant after boot.
struct BoardInfo {
  const char* board;      // e.g. "esp32dev"; at most 31 characters
  const char* device_id;  // stable per board; at most 23 characters
  ResetReason reset_reason;
  uint8_t adc_bits;       // resolution of AdcReading::raw
  uint8_t adc_channels;   // logical channels scanned, 1 .. kMaxChannels
  uint32_t adc_min_conversion_hz;  // total conversion rate range of the continuous ADC
  uint32_t adc_max_conversion_hz;
};

class Hal {
 public:
  virtual uint64_t now_us() = 0;

  // Non-blocking: copies up to cap received bytes into buf, returns how many.
  virtual size_t serial_read(uint8_t* buf, size_t cap) = 0;
  // Non-blocking: queues up to len bytes for transmission, returns how many it took.
  virtual size_t serial_write(const uint8_t* buf, size_t len) = 0;

  // (Re)starts continuous conversion of all adc_channels, round robin (channel 0, 1, ... N-1, 0,
  // ...), at conversion_hz conversions per second in total. Returns false if unsupported.
  virtual bool adc_start(uint32_t conversion_hz) = 0;
  // Non-blocking: up to cap readings completed since the last call, oldest first.
  virtual size_t adc_read(AdcReading* out, size_t cap, AdcBlockInfo* info) = 0;

  // Sets the three pulse widths (called once per servo tick, in motor order).
  virtual void servo_output(const ServoFrame& frame) = 0;

  // Called once per poll(); the platform feeds its watchdog here.
  virtual void watchdog_feed() = 0;

  virtual const BoardInfo& board_info() = 0;

 protected:
  // Not virtual: platforms are never deleted through a Hal pointer (nothing is on the heap),
  // and a virtual destructor would drag operator delete into a freestanding build.
  ~Hal() {}
};

}  // namespace rhcore

#endif  // RHCORE_HAL_H
