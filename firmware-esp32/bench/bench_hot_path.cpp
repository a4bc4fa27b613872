// Cost per sEMG sample of the core's hot path, on the host: ADC readings in (4 channels x 8
// oversampling per sample), averaging and timestamps, batching, nanopb encoding of EmgFrames,
// CRC, COBS and the TX ring -- everything Device::poll() does per sample -- with a fake
// platform whose own cost is a memcpy of the readings.
//
//   robohead-fw-bench [--samples N]            prints ns per sample (wall clock)
//   valgrind --tool=callgrind --toggle-collect='rhcore::Device::poll()'
//     robohead-fw-bench --samples 20000       instructions per sample = Ir / N
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fake_hal.h"
#include "rhcore/device.h"

int main(int argc, char** argv) {
  long samples = 100000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--samples") == 0) samples = std::atol(argv[i + 1]);

  rhtest::FakeHal hal;
  rhcore::DeviceConfig cfg = rhcore::default_config();
  static rhcore::Device dev(hal, cfg);
  dev.begin();
  const unsigned ch = hal.board.adc_channels;
  const unsigned os = dev.sampler().oversample();
  const unsigned spf = dev.framer().samples_per_frame();
  const uint64_t period_us = 1000000u / dev.sampler().rate_hz();

  // One poll per frame's worth of readings, like the firmware's loop at 1 kHz / 10 per frame.
  std::vector<rhcore::AdcReading> block(static_cast<size_t>(ch) * os * spf);
  for (size_t j = 0; j < block.size(); ++j)
    block[j] = {static_cast<uint16_t>(2048 + (j * 37) % 200), static_cast<uint8_t>(j % ch)};

  const long polls = samples / spf;
  const auto t0 = std::chrono::steady_clock::now();
  for (long p = 0; p < polls; ++p) {
    hal.now += period_us * spf;
    hal.adc.assign(block.begin(), block.end());
    hal.adc_pos = 0;
    hal.adc_t_last_us = hal.now;
    dev.poll();
    hal.tx.clear();
  }
  const auto t1 = std::chrono::steady_clock::now();
  const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
  const auto c = dev.counters();
  std::printf("samples %ld (%u ch, x%u oversampling, %u per frame): %.1f ns per sample, "
              "%u dropped\n",
              polls * spf, ch, os, spf, ns / static_cast<double>(polls * spf), c.dropped_samples);
  if (c.dropped_samples != 0 || dev.sampler().samples() != static_cast<uint64_t>(polls * spf)) {
    std::fprintf(stderr, "bench: the core lost samples; the measurement is invalid\n");
    return 1;
  }
  return 0;
}
