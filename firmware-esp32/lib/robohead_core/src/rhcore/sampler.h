// Turns the continuous ADC's oversampled round-robin conversions into one averaged sample per
// channel at the configured rate, with a device timestamp, and hands them to the EmgFramer.
//
// Averaging: `oversample` readings of every channel are summed per channel and divided, rounding
// to nearest. The order within one sample's window does not matter (DMA drivers differ in how
// they interleave the pattern), but a channel that delivers more than `oversample` readings
// before the others catch up means conversions were lost: the partial sample is thrown away
// (its readings counted as lost) and a new one starts, so samples never mix time windows.
//
// Timestamps: the time of a sample is when its last conversion completed. The platform reports,
// per block, the time its last reading completed (possibly late: the loop task reads the DMA
// buffer when it gets to it). Each sample's measured time follows from its position in the
// block and the conversion period. Timestamps advance by the nominal sample period, corrected
// once per 500 ms window towards the least-late measurement of that window (a small
// proportional-integral loop). They therefore follow the device clock even if the ADC clock
// differs from nominal, stay strictly increasing (a correction is at most 1/8 period per
// sample), and ignore the lateness jitter of the reads. A real gap (conversions the platform
// reports lost, or readings skipped to regain channel order) jumps the timestamps forward so
// the edge sees it in the time axis.
#ifndef RHCORE_SAMPLER_H
#define RHCORE_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "rhcore/hal.h"

namespace rhcore {

// Receives the averaged samples (the EmgFramer on the device; a recorder in tests).
class SampleSink {
 public:
  // values[0..channels) raw counts (averaged), t_us the sample's device time.
  virtual void add(const uint16_t* values, uint64_t t_us) = 0;

 protected:
  ~SampleSink() {}
};

class Sampler {
 public:
  static constexpr uint16_t kMaxOversample = 64;

  Sampler();

  // Starts over with a new configuration (partial samples and clock estimate discarded).
  // Returns false for channels outside 1..kMaxChannels, oversample outside 1..kMaxOversample
  // or rate_hz == 0.
  bool configure(uint8_t channels, uint16_t oversample, uint32_t rate_hz);

  // Feeds one block of readings; completed samples go to out.
  void push(const AdcReading* readings, size_t n, const AdcBlockInfo& info, SampleSink& out);

  uint32_t conversion_hz() const { return rate_hz_ * channels_ * oversample_; }
  uint32_t rate_hz() const { return rate_hz_; }
  uint16_t oversample() const { return oversample_; }
  uint8_t channels() const { return channels_; }
  // ADC readings lost: reported by the platform or skipped to regain channel order.
  uint32_t overflows() const { return overflows_; }
  uint64_t samples() const { return samples_; }

  // Smallest oversampling factor >= base that lifts the total conversion rate to at least
  // min_conversion_hz, or 0 if no factor <= kMaxOversample also stays within max_conversion_hz.
  static uint16_t choose_oversample(uint32_t rate_hz, uint8_t channels, uint16_t base,
                                    uint32_t min_conversion_hz, uint32_t max_conversion_hz);

 private:
  void emit(uint64_t measured_ns, SampleSink& out);

  uint8_t channels_;
  uint16_t oversample_;
  uint32_t rate_hz_;
  uint32_t conv_period_ns_;
  uint32_t sample_period_ns_;
  uint32_t window_len_;  // samples per correction window

  void discard_partial();

  uint32_t sums_[kMaxChannels];
  uint16_t counts_[kMaxChannels];  // readings summed per channel in this window
  uint32_t filled_;                // readings summed in this window
  uint32_t window_readings_;       // channels * oversample

  bool anchored_;
  bool resync_;  // conversions were lost: the next sample may jump forward in time
  uint64_t next_ts_ns_;
  int64_t freq_ns_;  // integral term: learned per-sample period offset
  int64_t adj_ns_;   // per-sample correction applied in this window
  int64_t win_min_err_;
  uint32_t win_n_;

  uint32_t overflows_;
  uint64_t samples_;
};

}  // namespace rhcore

#endif  // RHCORE_SAMPLER_H
