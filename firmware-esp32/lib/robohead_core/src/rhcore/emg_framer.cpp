#include "rhcore/emg_framer.h"

namespace rhcore {

namespace {
uint8_t popcount(uint32_t v) {
  uint8_t n = 0;
  for (; v; v &= v - 1u) ++n;
  return n;
}
}  // namespace

EmgFramer::EmgFramer()
    : head_(0),
      count_(0),
      map_(),
      channel_count_(0),
      hw_channels_(0),
      channel_mask_(0),
      samples_per_frame_(0),
      filled_(0),
      dropping_(false),
      next_sequence_(0),
      dropped_samples_(0) {}

bool EmgFramer::valid(uint32_t channel_mask, uint8_t hw_channels, uint16_t samples_per_frame) {
  if (hw_channels == 0 || hw_channels > kMaxChannels) return false;
  if (channel_mask == 0 || (channel_mask >> hw_channels) != 0) return false;
  if (samples_per_frame == 0 || samples_per_frame > kMaxSamplesPerFrame) return false;
  return 2u * popcount(channel_mask) * samples_per_frame <= kMaxFrameSampleBytes;
}

bool EmgFramer::configure(uint32_t channel_mask, uint8_t hw_channels, uint16_t samples_per_frame) {
  if (!valid(channel_mask, hw_channels, samples_per_frame)) return false;
  dropped_samples_ += filled_;
  filled_ = 0;
  dropping_ = false;
  hw_channels_ = hw_channels;
  channel_mask_ = channel_mask;
  samples_per_frame_ = samples_per_frame;
  channel_count_ = 0;
  for (uint8_t c = 0; c < hw_channels; ++c) {
    if (channel_mask & (1u << c)) map_[channel_count_++] = c;
  }
  return true;
}

void EmgFramer::add(const uint16_t* values, uint64_t t_us) {
  if (samples_per_frame_ == 0) return;  // not configured
  const size_t tail = (head_ + count_) % kQueueFrames;
  if (filled_ == 0) {
    dropping_ = count_ == kQueueFrames;
    if (!dropping_) {
      EmgBatch& b = queue_[tail];
      b.t_first_us = t_us;
      b.channel_count = channel_count_;
      b.len = 0;
    }
  }
  if (dropping_) {
    ++dropped_samples_;
  } else {
    EmgBatch& b = queue_[tail];
    uint8_t* p = b.data + b.len;
    for (uint8_t i = 0; i < channel_count_; ++i) {
      const uint16_t v = values[map_[i]];
      *p++ = static_cast<uint8_t>(v & 0xFFu);
      *p++ = static_cast<uint8_t>(v >> 8);
    }
    b.len = static_cast<uint16_t>(b.len + 2u * channel_count_);
  }
  if (++filled_ < samples_per_frame_) return;
  filled_ = 0;
  const uint32_t seq = next_sequence_++;
  if (dropping_) return;
  EmgBatch& b = queue_[tail];
  b.sequence = seq;
  b.samples = samples_per_frame_;
  ++count_;
}

void EmgFramer::pop() {
  if (count_ == 0) return;
  head_ = (head_ + 1) % kQueueFrames;
  --count_;
}

}  // namespace rhcore
