// The POSIX platform of robohead-fw-sim: real monotonic clock, a file descriptor pair as the
// serial link (a pseudo-terminal or stdin/stdout) limited to the UART's byte rate, an ADC
// emulated in real time from an EmgSource, and servo outputs written to a CSV.
#ifndef ROBOHEAD_SIM_POSIX_HAL_H
#define ROBOHEAD_SIM_POSIX_HAL_H

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "emg_source.h"
#include "rhcore/hal.h"

namespace rhsim {

class PosixHal final : public rhcore::Hal {
 public:
  struct Params {
    int fd_in = -1;
    int fd_out = -1;
    unsigned channels = 4;
    unsigned adc_bits = 12;
    uint32_t source_rate_hz = 1000;  // the rate the EmgSource's samples are indexed at
    uint32_t baud = 921600;          // 0: unlimited
    std::string device_id = "sim";
    FILE* pwm_log = nullptr;         // CSV, header written by the constructor
    // fd_out is a pty master: while no client has the port open (POLLHUP), output goes nowhere,
    // as a UART's does, instead of piling up stale frames in the kernel for the next client.
    bool pty_master = false;
  };

  PosixHal(const Params& p, EmgSource& source, uint64_t seed);

  uint64_t now_us() override;
  size_t serial_read(uint8_t* buf, size_t cap) override;
  size_t serial_write(const uint8_t* buf, size_t len) override;
  bool adc_start(uint32_t conversion_hz) override;
  size_t adc_read(rhcore::AdcReading* out, size_t cap, rhcore::AdcBlockInfo* info) override;
  void servo_output(const rhcore::ServoFrame& frame) override;
  void watchdog_feed() override;
  const rhcore::BoardInfo& board_info() override { return board_; }

  // Sleeps until serial input is readable or timeout_us passed.
  void wait(uint32_t timeout_us);

  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t max_poll_gap_us() const { return max_gap_us_; }
  bool link_closed() const { return link_closed_; }
  // Whether a client has the pty open (always true for stdio).
  bool client_connected();

 private:
  Params p_;
  EmgSource& source_;
  Rng rng_;
  rhcore::BoardInfo board_;
  uint64_t t0_ns_;

  uint32_t conv_hz_ = 0;
  uint64_t adc_t0_us_ = 0;
  uint64_t produced_ = 0;            // conversions handed out (or lost) since adc_start
  uint64_t cached_k_ = UINT64_MAX;   // source sample cached in values_
  std::vector<uint16_t> values_;

  double tx_tokens_ = 0.0;
  uint64_t tx_last_us_ = 0;
  uint64_t bytes_sent_ = 0;
  uint64_t last_feed_us_ = 0;
  uint64_t max_gap_us_ = 0;
  bool link_closed_ = false;
};

}  // namespace rhsim

#endif  // ROBOHEAD_SIM_POSIX_HAL_H
