#include "rhcore/sampler.h"

#include <string.h>

namespace rhcore {

namespace {
int64_t clamp64(int64_t v, int64_t lim) { return v > lim ? lim : (v < -lim ? -lim : v); }
}  // namespace

Sampler::Sampler()
    : channels_(0),
      oversample_(0),
      rate_hz_(0),
      conv_period_ns_(0),
      sample_period_ns_(0),
      window_len_(1),
      sums_(),
      counts_(),
      filled_(0),
      window_readings_(0),
      anchored_(false),
      resync_(false),
      next_ts_ns_(0),
      freq_ns_(0),
      adj_ns_(0),
      win_min_err_(0),
      win_n_(0),
      overflows_(0),
      samples_(0) {}

uint16_t Sampler::choose_oversample(uint32_t rate_hz, uint8_t channels, uint16_t base,
                                    uint32_t min_conversion_hz, uint32_t max_conversion_hz) {
  if (rate_hz == 0 || channels == 0 || base == 0) return 0;
  const uint64_t per_scan = static_cast<uint64_t>(rate_hz) * channels;
  uint64_t os = base;
  if (os * per_scan < min_conversion_hz) os = (min_conversion_hz + per_scan - 1u) / per_scan;
  if (os > kMaxOversample || os * per_scan > max_conversion_hz) return 0;
  return static_cast<uint16_t>(os);
}

bool Sampler::configure(uint8_t channels, uint16_t oversample, uint32_t rate_hz) {
  if (channels == 0 || channels > kMaxChannels) return false;
  if (oversample == 0 || oversample > kMaxOversample || rate_hz == 0) return false;
  channels_ = channels;
  oversample_ = oversample;
  rate_hz_ = rate_hz;
  sample_period_ns_ = static_cast<uint32_t>(1000000000ull / rate_hz);
  conv_period_ns_ = static_cast<uint32_t>(1000000000ull / conversion_hz());
  window_len_ = rate_hz / 2u ? rate_hz / 2u : 1u;  // 500 ms
  window_readings_ = static_cast<uint32_t>(channels) * oversample;
  memset(sums_, 0, sizeof(sums_));
  memset(counts_, 0, sizeof(counts_));
  filled_ = 0;
  anchored_ = false;
  resync_ = false;
  freq_ns_ = 0;
  adj_ns_ = 0;
  win_n_ = 0;
  return true;
}

void Sampler::discard_partial() {
  overflows_ += filled_;
  memset(sums_, 0, sizeof(sums_));
  memset(counts_, 0, sizeof(counts_));
  filled_ = 0;
  resync_ = true;
}

void Sampler::push(const AdcReading* readings, size_t n, const AdcBlockInfo& info,
                   SampleSink& out) {
  if (channels_ == 0) return;
  if (info.lost) {
    overflows_ += info.lost;
    discard_partial();  // the partial sample spans the loss
  }
  const uint64_t t_last_ns = info.t_last_us * 1000ull;
  for (size_t j = 0; j < n; ++j) {
    const AdcReading& r = readings[j];
    const uint8_t c = r.channel;
    if (c >= channels_) {  // not a channel we scan: a corrupt reading
      ++overflows_;
      continue;
    }
    if (counts_[c] == oversample_) discard_partial();  // c is ahead: the others lost readings
    sums_[c] += r.raw;
    ++counts_[c];
    if (++filled_ < window_readings_) continue;
    const uint64_t back = static_cast<uint64_t>(n - 1u - j) * conv_period_ns_;
    emit(t_last_ns > back ? t_last_ns - back : 0, out);
  }
}

void Sampler::emit(uint64_t measured_ns, SampleSink& out) {
  const int64_t period = sample_period_ns_;
  if (!anchored_) {
    anchored_ = true;
    next_ts_ns_ = measured_ns;
    win_min_err_ = INT64_MAX;
    win_n_ = 0;
  }
  int64_t err = static_cast<int64_t>(measured_ns - next_ts_ns_);
  if (resync_) {  // after a real gap, jump forward rather than slewing for seconds
    resync_ = false;
    if (err > period) {
      next_ts_ns_ = measured_ns;
      err = 0;
    }
  }
  const uint64_t ts_ns = next_ts_ns_;
  if (win_n_ == 0 || err < win_min_err_) win_min_err_ = err;
  if (++win_n_ >= window_len_) {
    const int64_t w = window_len_;
    // Gains tuned on a model of 0.2 % clock error and 0..3 ms read jitter (see the test).
    freq_ns_ = clamp64(freq_ns_ + win_min_err_ / (8 * w), period / 16);
    adj_ns_ = clamp64(freq_ns_ + win_min_err_ / (2 * w), period / 8);
    win_n_ = 0;
  }
  next_ts_ns_ = ts_ns + static_cast<uint64_t>(period + adj_ns_);

  uint16_t values[kMaxChannels];
  const uint32_t half = oversample_ / 2u;
  for (uint8_t c = 0; c < channels_; ++c) {
    values[c] = static_cast<uint16_t>((sums_[c] + half) / oversample_);
    sums_[c] = 0;
    counts_[c] = 0;
  }
  filled_ = 0;
  ++samples_;
  out.add(values, ts_ns / 1000u);
}

}  // namespace rhcore
