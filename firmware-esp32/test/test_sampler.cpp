// The sampler: decimation by averaging, channel order, overflow counting, timestamps.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "rhcore/sampler.h"

using rhcore::AdcBlockInfo;
using rhcore::AdcReading;
using rhcore::Sampler;

namespace {

struct Sample {
  std::vector<uint16_t> v;
  uint64_t t_us;
};

// Records every sample the sampler emits.
struct Recorder final : rhcore::SampleSink {
  explicit Recorder(uint8_t ch) : channels(ch) {}
  void add(const uint16_t* values, uint64_t t_us) override {
    samples.push_back({std::vector<uint16_t>(values, values + channels), t_us});
  }
  uint8_t channels;
  std::vector<Sample> samples;
};

std::vector<Sample> drain(Recorder& r) {
  std::vector<Sample> out;
  out.swap(r.samples);
  return out;
}

Recorder one_per_frame(uint8_t ch) { return Recorder(ch); }

}  // namespace

TEST_CASE("sampler: oversampled scans are averaged per channel, rounding to nearest") {
  Sampler s;
  REQUIRE(s.configure(2, 4, 1000));
  CHECK(s.conversion_hz() == 8000);
  Recorder f = one_per_frame(2);
  // Channel 0 reads 10, 11, 12, 13 (mean 11.5 -> 12); channel 1 reads 100 x4 (mean 100).
  std::vector<AdcReading> r;
  for (uint16_t k = 0; k < 4; ++k) {
    r.push_back({static_cast<uint16_t>(10 + k), 0});
    r.push_back({100, 1});
  }
  s.push(r.data(), r.size(), AdcBlockInfo{1000, 0}, f);
  const auto got = drain(f);
  REQUIRE(got.size() == 1);
  CHECK(got[0].v == std::vector<uint16_t>{12, 100});
  CHECK(s.overflows() == 0);
}

TEST_CASE("sampler: N scans give exactly N / oversample samples, partial ones carry over") {
  Sampler s;
  REQUIRE(s.configure(4, 8, 1000));
  Recorder f = one_per_frame(4);
  std::vector<AdcReading> r;
  for (int scan = 0; scan < 8 * 10 + 3; ++scan)
    for (uint8_t c = 0; c < 4; ++c) r.push_back({static_cast<uint16_t>(1000 + c), c});
  // Split the stream at awkward places: the sampler keeps partial scans across blocks.
  size_t pos = 0;
  uint64_t t = 0;
  for (size_t cut : {size_t{5}, size_t{37}, size_t{100}, r.size()}) {
    const size_t end = std::min(cut, r.size());
    t += 1000;
    s.push(r.data() + pos, end - pos, AdcBlockInfo{t, 0}, f);
    pos = end;
  }
  const auto got = drain(f);
  CHECK(got.size() == 10);
  for (const auto& g : got) CHECK(g.v == std::vector<uint16_t>{1000, 1001, 1002, 1003});
  CHECK(s.samples() == 10);
}

TEST_CASE("sampler: lost readings discard the partial sample, are counted, never mix windows") {
  Sampler s;
  REQUIRE(s.configure(3, 2, 1000));
  Recorder f = one_per_frame(3);
  const uint16_t val[3] = {111, 222, 333};
  std::vector<AdcReading> r;
  auto scan = [&] {
    for (uint8_t c = 0; c < 3; ++c) r.push_back({val[c], c});
  };
  scan();
  scan();                  // sample 1
  scan();
  r.push_back({val[0], 0});  // a lost reading of channel 1...
  r.push_back({val[2], 2});  // ...shows up as channel 2 out of order
  scan();
  scan();                  // sample 2 (after resync at channel 0)
  s.push(r.data(), r.size(), AdcBlockInfo{5000, 0}, f);
  const auto got = drain(f);
  REQUIRE(got.size() == 2);
  for (const auto& g : got) CHECK(g.v == std::vector<uint16_t>{111, 222, 333});
  CHECK(s.overflows() == 5);  // the partial window thrown away when channel 0 came round again

  // Platform-reported losses are added, and the partial sample spanning them is discarded.
  r.clear();
  r.push_back({val[0], 0});
  s.push(r.data(), r.size(), AdcBlockInfo{6000, 0}, f);
  s.push(nullptr, 0, AdcBlockInfo{7000, 40}, f);
  CHECK(s.overflows() == 46);  // 40 reported + the 1 reading of the partial window
  // A reading of a channel the sampler does not scan is counted and ignored.
  r.assign(1, AdcReading{1, 7});
  s.push(r.data(), r.size(), AdcBlockInfo{8000, 0}, f);
  CHECK(s.overflows() == 47);
}

TEST_CASE("sampler: any interleaving within a window averages correctly (DMA order quirks)") {
  Sampler s;
  REQUIRE(s.configure(4, 2, 1000));
  Recorder f = one_per_frame(4);
  // Pairs swapped, as some I2S-based DMA modes deliver them: 1 0 3 2 1 0 3 2.
  std::vector<AdcReading> r;
  for (int rep = 0; rep < 6; ++rep)
    for (uint8_t c : {1, 0, 3, 2}) r.push_back({static_cast<uint16_t>(10 * c + rep % 2), c});
  s.push(r.data(), r.size(), AdcBlockInfo{3000, 0}, f);
  const auto got = drain(f);
  REQUIRE(got.size() == 3);
  for (const auto& g : got) CHECK(g.v == std::vector<uint16_t>{1, 11, 21, 31});  // (x + x+1)/2 rounds up
  CHECK(s.overflows() == 0);
}

TEST_CASE("sampler: timestamps step by the sample period when blocks arrive on time") {
  Sampler s;
  REQUIRE(s.configure(4, 8, 1000));  // 32 kHz, 31.25 us per conversion
  Recorder f = one_per_frame(4);
  std::vector<AdcReading> block;
  for (int scan = 0; scan < 8 * 10; ++scan)
    for (uint8_t c = 0; c < 4; ++c) block.push_back({2048, c});
  uint64_t t = 10000;
  std::vector<Sample> all;
  for (int b = 0; b < 50; ++b) {
    t += 10000;  // 10 samples per block, 10 ms
    s.push(block.data(), block.size(), AdcBlockInfo{t, 0}, f);
    for (auto& x : drain(f)) all.push_back(x);
  }
  REQUIRE(all.size() == 500);
  CHECK(all[9].t_us == 20000);  // the last sample of the first block ends at the block's time
  for (size_t i = 1; i < all.size(); ++i) CHECK(all[i].t_us - all[i - 1].t_us == 1000);
}

TEST_CASE("sampler: timestamps track a drifting ADC clock through late, jittery reads") {
  // The ADC runs 0.2 % slow against the device clock and every block is read 0..2 ms late
  // (the ESP32 loop task reads the DMA pool when it gets to it); 20 s of 8-sample blocks.
  Sampler s;
  REQUIRE(s.configure(4, 8, 1000));
  Recorder f = one_per_frame(4);
  const double true_period_us = 1000.0 * 1.002;
  std::vector<AdcReading> block;
  for (int scan = 0; scan < 8 * 8; ++scan)
    for (uint8_t c = 0; c < 4; ++c) block.push_back({2048, c});
  uint32_t rng = 99;
  uint64_t produced = 0;  // samples
  std::vector<Sample> all;
  std::vector<double> truth;
  for (int b = 0; b < 2500; ++b) {
    produced += 8;
    const double t_true_end = 5000.0 + produced * true_period_us;
    rng = rng * 1103515245u + 12345u;
    const double late = (rng >> 16) % 2000;
    s.push(block.data(), block.size(), AdcBlockInfo{static_cast<uint64_t>(t_true_end + late), 0}, f);
    for (auto& x : drain(f)) all.push_back(x);
    for (int k = 7; k >= 0; --k) truth.push_back(t_true_end - k * true_period_us);
  }
  REQUIRE(all.size() == truth.size());
  double worst = 0;
  for (size_t i = 1; i < all.size(); ++i) {
    const int64_t step = static_cast<int64_t>(all[i].t_us - all[i - 1].t_us);
    if (step < 874 || step > 1126) {  // corrections stay within 1/8 period: always increasing
      FAIL_CHECK("sample " << i << " steps by " << step << " us");
    }
    if (i > all.size() / 4) worst = std::max(worst, std::fabs(all[i].t_us - truth[i]));
  }
  CAPTURE(worst);
  CHECK(worst < 200.0);  // after 5 s of settling, within 0.2 ms of the truth despite the jitter
}

TEST_CASE("sampler: a real gap moves the timestamps forward instead of hiding it") {
  Sampler s;
  REQUIRE(s.configure(1, 20, 1000));
  Recorder f = one_per_frame(1);
  std::vector<AdcReading> block(20 * 10, AdcReading{7, 0});
  s.push(block.data(), block.size(), AdcBlockInfo{10000, 0}, f);
  auto first = drain(f);
  s.push(block.data(), block.size(), AdcBlockInfo{120000, 2000}, f);  // 100 ms lost
  auto second = drain(f);
  REQUIRE(first.size() == 10);
  REQUIRE(second.size() == 10);
  CHECK(second.front().t_us - first.back().t_us > 90000);
  CHECK(second.back().t_us == 120000);
}

TEST_CASE("sampler: choose_oversample meets the ADC's minimum rate and rejects the impossible") {
  // Classic ESP32 continuous mode: 20 kHz .. 2 MHz in total.
  CHECK(Sampler::choose_oversample(1000, 4, 8, 20000, 2000000) == 8);   // 32 kHz
  CHECK(Sampler::choose_oversample(500, 4, 8, 20000, 2000000) == 10);   // raised to 20 kHz
  CHECK(Sampler::choose_oversample(1000, 1, 8, 20000, 2000000) == 20);
  CHECK(Sampler::choose_oversample(4000, 8, 8, 20000, 83333) == 0);     // S3 maximum exceeded
  CHECK(Sampler::choose_oversample(100, 1, 8, 20000, 2000000) == 0);    // would need 200x
  CHECK(Sampler::choose_oversample(0, 4, 8, 20000, 2000000) == 0);
  Sampler s;
  CHECK_FALSE(s.configure(0, 8, 1000));
  CHECK_FALSE(s.configure(9, 8, 1000));
  CHECK_FALSE(s.configure(4, 0, 1000));
  CHECK_FALSE(s.configure(4, 65, 1000));
  CHECK_FALSE(s.configure(4, 8, 0));
}
