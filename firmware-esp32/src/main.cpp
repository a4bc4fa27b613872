// The ESP32 entry point: the Arduino loop task runs the firmware core's Device::poll() about
// once per millisecond. Everything the robot head does is in lib/robohead_core; this file and
// esp32_hal.cpp only connect it to the chip.
#include <Arduino.h>

#include "esp32_hal.h"
#include "rhcore/config.h"
#include "rhcore/device.h"

namespace {
rhcore::DeviceConfig g_config = rhcore::default_config();
rhboard::Esp32Hal g_hal;
rhcore::Device g_device(g_hal, g_config);  // ~13 KiB in .bss, nothing on the heap
}  // namespace

void setup() {
  g_hal.begin(g_config);  // servos at neutral, serial, watchdog
  g_device.begin();       // ADC, Hello
}

void loop() {
  g_device.poll();
  vTaskDelay(1);  // one FreeRTOS tick (1 ms): lets the idle task run and feed its watchdog
}
