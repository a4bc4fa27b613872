// Pin assignment per chip: the one platform dispatch of the ESP32 layer. The wiring table in
// README.md mirrors this file. Only ADC1 is used (ADC2 is shared with Wi-Fi and has no DMA on
// the classic ESP32).
#ifndef ROBOHEAD_BOARD_PINS_H
#define ROBOHEAD_BOARD_PINS_H

#include <driver/adc.h>
#include <sdkconfig.h>
#include <soc/soc_caps.h>

#include "rhcore/params_gen.h"

namespace rhboard {

struct AdcPin {
  int gpio;
  adc1_channel_t channel;
};

#if CONFIG_IDF_TARGET_ESP32
static const char* const kBoard = "esp32dev";
// Input-only pins 34-39 have no pull-ups or output drivers: ideal for analog front ends.
static const AdcPin kAdcPins[] = {{36, ADC1_CHANNEL_0}, {39, ADC1_CHANNEL_3}, {34, ADC1_CHANNEL_6},
                                  {35, ADC1_CHANNEL_7}, {32, ADC1_CHANNEL_4}, {33, ADC1_CHANNEL_5}};
static const int kServoPins[3] = {25, 26, 27};
static const uint32_t kAdcMinConversionHz = 20000;   // continuous mode via I2S0: 20 kHz .. 2 MHz
static const uint32_t kAdcMaxConversionHz = 2000000;
#elif CONFIG_IDF_TARGET_ESP32S3
static const char* const kBoard = "esp32-s3-devkitc-1";
static const AdcPin kAdcPins[] = {{4, ADC1_CHANNEL_3}, {5, ADC1_CHANNEL_4}, {6, ADC1_CHANNEL_5},
                                  {7, ADC1_CHANNEL_6}, {8, ADC1_CHANNEL_7}, {9, ADC1_CHANNEL_8}};
static const int kServoPins[3] = {15, 16, 17};
static const uint32_t kAdcMinConversionHz = 611;     // SOC_ADC_SAMPLE_FREQ_THRES_LOW
static const uint32_t kAdcMaxConversionHz = 83333;   // SOC_ADC_SAMPLE_FREQ_THRES_HIGH
#elif CONFIG_IDF_TARGET_ESP32C3
static const char* const kBoard = "esp32-c3-devkitm-1";
static const AdcPin kAdcPins[] = {{0, ADC1_CHANNEL_0}, {1, ADC1_CHANNEL_1}, {3, ADC1_CHANNEL_3},
                                  {4, ADC1_CHANNEL_4}};
static const int kServoPins[3] = {6, 7, 10};
static const uint32_t kAdcMinConversionHz = 611;
static const uint32_t kAdcMaxConversionHz = 83333;
#else
#error "robohead firmware: unsupported chip (supported: ESP32, ESP32-S3, ESP32-C3)"
#endif

static const unsigned kChannels = RH_PARAM_CHANNELS;
static_assert(kChannels <= sizeof(kAdcPins) / sizeof(kAdcPins[0]),
              "params.yaml lists more sEMG channels than this board has ADC1 pins");

// LEDC timer width at 50 Hz: the widest the chip's timer supports (20 bits on the classic ESP32,
// 14 on S3/C3; 80 MHz / 50 Hz = 1.6 M counts, so 20 bits still fit the divider).
static const uint8_t kServoTimerBits = SOC_LEDC_TIMER_BIT_WIDE_NUM > 20 ? 20 : SOC_LEDC_TIMER_BIT_WIDE_NUM;

}  // namespace rhboard

#endif  // ROBOHEAD_BOARD_PINS_H
