// Batches averaged sEMG samples into EmgFrame payloads (packed little-endian int16, sample-major,
// channels interleaved) and queues them for the serial link.
//
// Every completed batch takes the next sequence number, including batches dropped because the
// queue was full: the edge sees the loss as a sequence gap, and dropped_samples counts it here.
#ifndef RHCORE_EMG_FRAMER_H
#define RHCORE_EMG_FRAMER_H

#include <stddef.h>
#include <stdint.h>

#include "rhcore/hal.h"
#include "rhcore/sampler.h"

namespace rhcore {

// Bytes of EmgFrame.samples (nanopb max_size in device.options); 32 samples x 8 channels x 2.
static const size_t kMaxFrameSampleBytes = 512;
static const size_t kMaxSamplesPerFrame = 32;

struct EmgBatch {
  uint32_t sequence;
  uint64_t t_first_us;     // device time of the first sample
  uint8_t channel_count;
  uint16_t samples;
  uint16_t len;            // bytes used in data
  uint8_t data[kMaxFrameSampleBytes];
};

class EmgFramer final : public SampleSink {
 public:
  static constexpr size_t kQueueFrames = 8;  // 80 ms at the default 10 samples per frame, 1 kHz

  EmgFramer();

  // Which of the hw_channels are sent, and how many samples per frame. Returns false (and keeps
  // the old configuration) if the combination does not fit kMaxFrameSampleBytes. A partial batch
  // is discarded and counted as dropped.
  bool configure(uint32_t channel_mask, uint8_t hw_channels, uint16_t samples_per_frame);

  // One averaged sample: values[0..hw_channels) raw counts, t_us its device time.
  void add(const uint16_t* values, uint64_t t_us) override;

  // The oldest complete batch, or nullptr.
  const EmgBatch* front() const { return count_ ? &queue_[head_] : nullptr; }
  void pop();

  size_t queued() const { return count_; }
  uint32_t dropped_samples() const { return dropped_samples_; }
  uint32_t next_sequence() const { return next_sequence_; }
  uint8_t channel_count() const { return channel_count_; }
  uint16_t samples_per_frame() const { return samples_per_frame_; }
  uint32_t channel_mask() const { return channel_mask_; }

  // Whether a mask/spf combination is valid for hw_channels.
  static bool valid(uint32_t channel_mask, uint8_t hw_channels, uint16_t samples_per_frame);

 private:
  EmgBatch queue_[kQueueFrames];
  size_t head_;
  size_t count_;
  uint8_t map_[kMaxChannels];  // sent channel i = hardware channel map_[i]
  uint8_t channel_count_;
  uint8_t hw_channels_;
  uint32_t channel_mask_;
  uint16_t samples_per_frame_;
  uint16_t filled_;            // samples in the batch being built
  bool dropping_;              // the batch being built has no queue slot
  uint32_t next_sequence_;
  uint32_t dropped_samples_;
};

}  // namespace rhcore

#endif  // RHCORE_EMG_FRAMER_H
