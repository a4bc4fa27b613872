// The firmware core: the one loop that runs on the ESP32, in robohead-fw-sim and in the tests.
//
// Device::poll() does one pass, never blocks and allocates nothing:
//   1. serial bytes -> FrameDecoder -> HostMessage (MotorCommand, Ping, SetConfig) handlers;
//   2. ADC blocks -> Sampler (oversampling, timestamps) -> EmgFramer (batches, queue);
//   3. fail-safe clock; at every 20 ms servo tick the slew-limited pulse widths go out;
//   4. DeviceStatus at the configured 1-5 Hz (and at once when the fail-safe trips);
//   5. queued EmgFrames and replies are framed into the TX ring, which drains into the HAL.
// Control replies (Hello, Pong, Ack, Error, DeviceStatus) take the TX ring before sEMG batches,
// which wait in the EmgFramer queue while the link is slow and are dropped (counted, sequence
// gap) when that queue is full too.
#ifndef RHCORE_DEVICE_H
#define RHCORE_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "rhcore/config.h"
#include "rhcore/emg_framer.h"
#include "rhcore/failsafe.h"
#include "rhcore/frame.h"
#include "rhcore/hal.h"
#include "rhcore/sampler.h"
#include "rhcore/servo.h"
#include "robohead/protocol/v1/device.pb.h"

namespace rhcore {

class Device {
 public:
  static constexpr size_t kTxRingBytes = 4096;
  static constexpr size_t kAdcChunk = 256;      // readings fetched from the HAL per call
  static constexpr size_t kRxChunk = 256;       // serial bytes fetched per call
  static constexpr uint32_t kErrorMinIntervalUs = 200000;  // Error replies of one kind, at most 5/s

  Device(Hal& hal, const DeviceConfig& config);

  // Validates the configuration (invalid parts fall back to safe values and are reported in an
  // Error), sets the servos to neutral, starts the ADC and sends Hello. Returns false if the
  // configuration needed fixing.
  bool begin();

  // One pass of the loop (see above). Call as often as possible, at least every few ms.
  void poll();

  // --- observation (tests, simulator, benchmarks) ---
  FailsafeState failsafe_state() const { return failsafe_.state(); }
  const Servo& servo(size_t i) const { return servos_[i]; }
  const Sampler& sampler() const { return sampler_; }
  const EmgFramer& framer() const { return framer_; }
  const FrameCounters& rx_counters() const { return rx_.counters(); }
  robohead_v1_DeviceCounters counters() const;
  uint32_t peer_schema_hash() const { return peer_schema_hash_; }
  uint32_t tx_overflows() const { return tx_overflows_; }
  size_t tx_pending() const { return tx_len_; }

 private:
  void handle_payload(const uint8_t* payload, size_t len, uint64_t now);
  void on_motor(const robohead_v1_MotorCommand& cmd, uint64_t now);
  void on_ping(const robohead_v1_Ping& ping, uint64_t now);
  void on_set_config(const robohead_v1_SetConfig& sc, uint64_t now);
  void pump_adc();
  void servo_tick(uint64_t now);
  void flush_emg();
  void flush_tx();

  void send_hello(uint64_t now);
  void send_status(uint64_t now);
  void send_pong(const robohead_v1_Ping& ping, uint64_t now);
  void send_ack(uint32_t request_id);
  // Rate-limited per code unless force; detail is truncated to fit.
  void send_error(robohead_v1_ErrorCode code, const char* detail, uint32_t request_id,
                  uint64_t now, bool force);
  // Encodes out_ into the TX ring; false (and counted in tx_overflows_) if it does not fit.
  bool send_message();
  bool tx_push(const uint8_t* data, size_t len);
  size_t tx_free() const { return kTxRingBytes - tx_len_; }
  bool apply_sampling(uint32_t rate_hz, uint16_t oversample);

  Hal& hal_;
  DeviceConfig config_;
  const BoardInfo* board_;
  FrameDecoder rx_;
  Sampler sampler_;
  EmgFramer framer_;
  Servo servos_[kMotorCount];
  Failsafe failsafe_;

  uint64_t next_tick_us_;
  uint64_t next_status_us_;
  uint64_t last_error_us_[_robohead_v1_ErrorCode_ARRAYSIZE];
  bool error_sent_[_robohead_v1_ErrorCode_ARRAYSIZE];
  uint32_t peer_schema_hash_;
  uint32_t last_command_sequence_;
  uint32_t decode_errors_;
  uint32_t clamped_commands_;
  uint32_t tx_overflows_;
  uint32_t adc_start_failures_;
  bool latency_pending_;
  uint32_t latency_us_;  // arrival time minus window_end_device_time_us of the newest command

  robohead_v1_DeviceMessage out_;
  robohead_v1_HostMessage in_;
  AdcReading adc_buf_[kAdcChunk];
  uint8_t rx_chunk_[kRxChunk];
  uint8_t payload_[kMaxPayload + kCrcLen];       // protobuf payload + room for the CRC
  uint8_t wire_[frame_max_wire(kMaxPayload)];    // one encoded frame
  uint8_t tx_ring_[kTxRingBytes];
  size_t tx_head_;
  size_t tx_len_;
};

}  // namespace rhcore

#endif  // RHCORE_DEVICE_H
