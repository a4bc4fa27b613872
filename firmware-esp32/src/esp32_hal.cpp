#include "esp32_hal.h"

#include <Arduino.h>
#include <driver/adc.h>
#include <esp_log.h>
#include <esp_system.h>
#include <esp_task_wdt.h>
#include <esp_timer.h>

#include "board_pins.h"
#include "rhcore/params_gen.h"
#include "rhcore/servo.h"
#include "rhcore/text.h"

namespace rhboard {

namespace {

#if CONFIG_IDF_TARGET_ESP32
const size_t kResultBytes = 2;  // adc_digi_output_data_t, TYPE1 (I2S0-based DMA)
const adc_digi_convert_mode_t kConvMode = ADC_CONV_SINGLE_UNIT_1;
const adc_digi_output_format_t kFormat = ADC_DIGI_OUTPUT_FORMAT_TYPE1;
const bool kConvLimit = true;  // required on the classic ESP32
#elif CONFIG_IDF_TARGET_ESP32S3
const size_t kResultBytes = 4;  // TYPE2
const adc_digi_convert_mode_t kConvMode = ADC_CONV_SINGLE_UNIT_1;
const adc_digi_output_format_t kFormat = ADC_DIGI_OUTPUT_FORMAT_TYPE2;
const bool kConvLimit = false;
#elif CONFIG_IDF_TARGET_ESP32C3
const size_t kResultBytes = 4;
const adc_digi_convert_mode_t kConvMode = ADC_CONV_ALTER_UNIT;  // the only DMA mode on C3 (4.4)
const adc_digi_output_format_t kFormat = ADC_DIGI_OUTPUT_FORMAT_TYPE2;
const bool kConvLimit = false;
#endif

const uint32_t kDmaPoolBytes = 4096;     // driver ring buffer: 64 ms at 32 kHz, 2-byte results
const uint32_t kDmaFrameBytes = 256;     // one DMA interrupt's worth
const uint32_t kWatchdogSeconds = 2;     // the loop polls every ~1 ms; 2 s means it is stuck
const uint32_t kServoPeriodUs = rhcore::kServoTickUs;

// Hardware ADC1 channel -> logical sEMG channel (or -1).
int8_t g_logical[SOC_ADC_CHANNEL_NUM(0)];

rhcore::ResetReason map_reset_reason(esp_reset_reason_t r) {
  switch (r) {
    case ESP_RST_POWERON: return rhcore::kResetPowerOn;
    case ESP_RST_SW: return rhcore::kResetSoftware;
    case ESP_RST_PANIC: return rhcore::kResetPanic;
    case ESP_RST_INT_WDT:
    case ESP_RST_TASK_WDT:
    case ESP_RST_WDT: return rhcore::kResetWatchdog;
    case ESP_RST_BROWNOUT: return rhcore::kResetBrownout;
    case ESP_RST_EXT: return rhcore::kResetExternal;
    default: return rhcore::kResetUnknown;
  }
}

}  // namespace

void Esp32Hal::begin(const rhcore::DeviceConfig& config) {
  // Nothing but protocol frames may reach UART0: silence ESP-IDF and Arduino logging.
  esp_log_level_set("*", ESP_LOG_NONE);
  Serial.setRxBufferSize(1024);
  Serial.setTxBufferSize(4096);
  Serial.begin(RH_PARAM_BAUD);

  // Servos at neutral before anything else can go wrong.
  for (int i = 0; i < 3; ++i) {
    ledcSetup(i, 1000000u / kServoPeriodUs, kServoTimerBits);
    ledcWrite(i, rhcore::servo_duty(config.servos[i].neutral_us, kServoTimerBits, kServoPeriodUs));
    ledcAttachPin(kServoPins[i], i);
  }

  esp_task_wdt_init(kWatchdogSeconds, true);  // reconfigures if Arduino already started it
  esp_task_wdt_add(nullptr);                  // the loop task (setup() runs in it)

  uint8_t mac[6] = {0};
  esp_efuse_mac_get_default(mac);
  rhcore::Text id(device_id_, sizeof(device_id_));
  static const char kHex[] = "0123456789abcdef";
  id.str("rh-");
  for (uint8_t b : mac) {
    const char pair[3] = {kHex[b >> 4], kHex[b & 0xF], '\0'};
    id.str(pair);
  }

  for (auto& l : g_logical) l = -1;
  for (unsigned i = 0; i < kChannels; ++i) g_logical[kAdcPins[i].channel] = static_cast<int8_t>(i);

  board_.board = kBoard;
  board_.device_id = device_id_;
  board_.reset_reason = map_reset_reason(esp_reset_reason());
  board_.adc_bits = RH_PARAM_ADC_BITS;
  board_.adc_channels = static_cast<uint8_t>(kChannels);
  board_.adc_min_conversion_hz = kAdcMinConversionHz;
  board_.adc_max_conversion_hz = kAdcMaxConversionHz;
}

uint64_t Esp32Hal::now_us() { return static_cast<uint64_t>(esp_timer_get_time()); }

size_t Esp32Hal::serial_read(uint8_t* buf, size_t cap) {
  const int avail = Serial.available();
  if (avail <= 0) return 0;
  return Serial.read(buf, static_cast<size_t>(avail) < cap ? static_cast<size_t>(avail) : cap);
}

size_t Esp32Hal::serial_write(const uint8_t* buf, size_t len) {
  const int room = Serial.availableForWrite();  // FIFO + TX ring: write() will not block
  if (room <= 0) return 0;
  return Serial.write(buf, static_cast<size_t>(room) < len ? static_cast<size_t>(room) : len);
}

void Esp32Hal::adc_stop() {
  if (!adc_running_) return;
  adc_digi_stop();
  adc_digi_deinitialize();
  adc_running_ = false;
}

bool Esp32Hal::adc_start(uint32_t conversion_hz) {
  adc_stop();
  if (conversion_hz < kAdcMinConversionHz || conversion_hz > kAdcMaxConversionHz) return false;
  uint32_t mask = 0;
  adc_digi_pattern_config_t pattern[SOC_ADC_PATT_LEN_MAX] = {};
  for (unsigned i = 0; i < kChannels; ++i) {
    mask |= 1u << kAdcPins[i].channel;
    pattern[i].atten = ADC_ATTEN_DB_11;  // ~0..3.1 V: the front end sits at mid-rail (1.65 V)
    pattern[i].channel = static_cast<uint8_t>(kAdcPins[i].channel);
    pattern[i].unit = 0;                 // ADC1
    pattern[i].bit_width = SOC_ADC_DIGI_MAX_BITWIDTH;
  }
  adc_digi_init_config_t init = {};
  init.max_store_buf_size = kDmaPoolBytes;
  init.conv_num_each_intr = kDmaFrameBytes;
  init.adc1_chan_mask = mask;
  init.adc2_chan_mask = 0;
  if (adc_digi_initialize(&init) != ESP_OK) return false;
  adc_digi_configuration_t cfg = {};
  cfg.conv_limit_en = kConvLimit;
  cfg.conv_limit_num = 250;
  cfg.pattern_num = kChannels;
  cfg.adc_pattern = pattern;
  cfg.sample_freq_hz = conversion_hz;
  cfg.conv_mode = kConvMode;
  cfg.format = kFormat;
  if (adc_digi_controller_configure(&cfg) != ESP_OK || adc_digi_start() != ESP_OK) {
    adc_digi_deinitialize();
    return false;
  }
  adc_running_ = true;
  conversion_hz_ = conversion_hz;
  adc_t0_us_ = now_us();
  adc_received_ = 0;
  return true;
}

size_t Esp32Hal::adc_read(rhcore::AdcReading* out, size_t cap, rhcore::AdcBlockInfo* info) {
  info->lost = 0;
  info->t_last_us = 0;
  if (!adc_running_) return 0;
  size_t want = cap * kResultBytes;
  if (want > sizeof(dma_buf_)) want = sizeof(dma_buf_);
  uint32_t got = 0;
  const esp_err_t err = adc_digi_read_bytes(dma_buf_, want, &got, 0);  // never blocks
  const uint64_t now = now_us();
  if (err == ESP_ERR_INVALID_STATE) {
    // The pool overflowed: estimate what was lost from the clock (less one DMA frame in flight).
    const uint64_t expected = (now - adc_t0_us_) * conversion_hz_ / 1000000u;
    const uint64_t in_flight = kDmaFrameBytes / kResultBytes;
    const uint64_t have = adc_received_ + got / kResultBytes + in_flight;
    if (expected > have) {
      info->lost = static_cast<uint32_t>(expected - have);
      adc_received_ += info->lost;
    }
  } else if (err != ESP_OK) {
    return 0;  // ESP_ERR_TIMEOUT: nothing yet
  }
  size_t n = 0;
  for (uint32_t pos = 0; pos + kResultBytes <= got && n < cap; pos += kResultBytes) {
    const adc_digi_output_data_t* p = reinterpret_cast<const adc_digi_output_data_t*>(dma_buf_ + pos);
#if CONFIG_IDF_TARGET_ESP32
    const unsigned ch = p->type1.channel;
    const uint16_t raw = p->type1.data;
#else
    if (p->type2.unit != 0) continue;  // not ADC1
    const unsigned ch = p->type2.channel;
    const uint16_t raw = p->type2.data;
#endif
    const int8_t logical = ch < SOC_ADC_CHANNEL_NUM(0) ? g_logical[ch] : -1;
    out[n].raw = raw;
    out[n].channel = logical < 0 ? 0xFF : static_cast<uint8_t>(logical);  // 0xFF: counted as bad
    ++n;
  }
  adc_received_ += got / kResultBytes;
  if (n || info->lost) info->t_last_us = now;  // the newest conversion completed by now
  return n;
}

void Esp32Hal::servo_output(const rhcore::ServoFrame& frame) {
  for (int i = 0; i < 3; ++i)
    ledcWrite(i, rhcore::servo_duty(frame.pulse_us[i], kServoTimerBits, kServoPeriodUs));
}

void Esp32Hal::watchdog_feed() { esp_task_wdt_reset(); }

}  // namespace rhboard
