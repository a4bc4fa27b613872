// A scripted platform for the unit tests and the benchmark: a settable clock, byte queues for
// the serial link, readings the test pushes, and a record of every servo tick.
#ifndef ROBOHEAD_TEST_FAKE_HAL_H
#define ROBOHEAD_TEST_FAKE_HAL_H

#include <cstdint>
#include <deque>
#include <vector>

#include "rhcore/hal.h"

namespace rhtest {

class FakeHal final : public rhcore::Hal {
 public:
  FakeHal() {
    board.board = "test";
    board.device_id = "test-0001";
    board.reset_reason = rhcore::kResetPowerOn;
    board.adc_bits = 12;
    board.adc_channels = 4;
    board.adc_min_conversion_hz = 20000;
    board.adc_max_conversion_hz = 2000000;
  }

  uint64_t now_us() override { return now; }

  size_t serial_read(uint8_t* buf, size_t cap) override {
    size_t n = 0;
    while (n < cap && !rx.empty()) {
      buf[n++] = rx.front();
      rx.pop_front();
    }
    return n;
  }

  size_t serial_write(const uint8_t* buf, size_t len) override {
    const size_t n = len < tx_budget ? len : tx_budget;
    tx.insert(tx.end(), buf, buf + n);
    if (tx_budget != SIZE_MAX) tx_budget -= n;
    return n;
  }

  bool adc_start(uint32_t hz) override {
    conversion_hz = hz;
    ++adc_starts;
    return adc_ok;
  }

  size_t adc_read(rhcore::AdcReading* out, size_t cap, rhcore::AdcBlockInfo* info) override {
    size_t n = 0;
    while (n < cap && adc_pos < adc.size()) out[n++] = adc[adc_pos++];
    info->t_last_us = adc_t_last_us;
    info->lost = adc_lost;
    adc_lost = 0;
    if (adc_pos == adc.size()) {
      adc.clear();
      adc_pos = 0;
    }
    return n;
  }

  void servo_output(const rhcore::ServoFrame& f) override { ticks.push_back(f); }
  void watchdog_feed() override { ++feeds; }
  const rhcore::BoardInfo& board_info() override { return board; }

  // Queues `scans` round-robin scans of constant values per channel, the last at t_last_us.
  void push_scans(size_t scans, const uint16_t* values, uint64_t t_last_us) {
    for (size_t s = 0; s < scans; ++s)
      for (uint8_t c = 0; c < board.adc_channels; ++c) adc.push_back({values[c], c});
    adc_t_last_us = t_last_us;
  }

  rhcore::BoardInfo board;
  uint64_t now = 0;
  std::deque<uint8_t> rx;
  std::vector<uint8_t> tx;
  size_t tx_budget = SIZE_MAX;
  uint32_t conversion_hz = 0;
  int adc_starts = 0;
  bool adc_ok = true;
  std::vector<rhcore::AdcReading> adc;
  size_t adc_pos = 0;
  uint64_t adc_t_last_us = 0;
  uint32_t adc_lost = 0;
  std::vector<rhcore::ServoFrame> ticks;
  int feeds = 0;
};

}  // namespace rhtest

#endif  // ROBOHEAD_TEST_FAKE_HAL_H
