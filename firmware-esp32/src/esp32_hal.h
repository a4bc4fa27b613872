// The ESP32 platform of the firmware core (Arduino-ESP32 2.0.x on ESP-IDF 4.4).
//
// - ADC: continuous mode through DMA (adc_digi_*), ADC1 only, all channels round robin at the
//   total conversion rate the core asks for; the core oversamples and averages. Never
//   analogRead() and nothing in an ISR: the loop task drains the DMA pool without blocking.
// - Servos: LEDC at 50 Hz with the chip's widest timer (20 bits classic, 14 bits S3/C3).
// - Serial: UART0 at params.yaml's baud (921600) with 1 KiB RX and 4 KiB TX buffers.
// - Task watchdog on the loop task, fed once per Device::poll().
// - Reset reason and a MAC-derived device id for Hello.
#ifndef ROBOHEAD_ESP32_HAL_H
#define ROBOHEAD_ESP32_HAL_H

#include <stddef.h>
#include <stdint.h>

#include "rhcore/config.h"
#include "rhcore/hal.h"

namespace rhboard {

class Esp32Hal final : public rhcore::Hal {
 public:
  // Sets up serial, LEDC (outputs at the neutral pulse widths at once) and the watchdog.
  void begin(const rhcore::DeviceConfig& config);

  uint64_t now_us() override;
  size_t serial_read(uint8_t* buf, size_t cap) override;
  size_t serial_write(const uint8_t* buf, size_t len) override;
  bool adc_start(uint32_t conversion_hz) override;
  size_t adc_read(rhcore::AdcReading* out, size_t cap, rhcore::AdcBlockInfo* info) override;
  void servo_output(const rhcore::ServoFrame& frame) override;
  void watchdog_feed() override;
  const rhcore::BoardInfo& board_info() override { return board_; }

 private:
  void adc_stop();

  rhcore::BoardInfo board_ = {};
  char device_id_[24] = {0};
  bool adc_running_ = false;
  uint32_t conversion_hz_ = 0;
  uint64_t adc_t0_us_ = 0;
  uint64_t adc_received_ = 0;  // conversions delivered (or counted lost) since adc_start
  uint8_t dma_buf_[1024];
  size_t dma_len_ = 0;         // bytes of dma_buf_ not yet handed out
  size_t dma_pos_ = 0;
  uint64_t dma_t_us_ = 0;      // when dma_buf_ was read
};

}  // namespace rhboard

#endif  // ROBOHEAD_ESP32_HAL_H
