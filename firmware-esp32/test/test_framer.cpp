// EmgFramer: packing, batching, sequence numbers and the full-queue policy.
#include <doctest/doctest.h>

#include <vector>

#include "rhcore/emg_framer.h"

using rhcore::EmgBatch;
using rhcore::EmgFramer;

TEST_CASE("framer: samples are packed little-endian int16, sample-major, enabled channels only") {
  EmgFramer f;
  REQUIRE(f.configure(0b1011, 4, 2));  // channels 0, 1, 3
  CHECK(f.channel_count() == 3);
  const uint16_t s0[4] = {0x0102, 0x0304, 0xFFFF, 0x0F00};
  const uint16_t s1[4] = {1, 2, 3, 4};
  f.add(s0, 500);
  CHECK(f.front() == nullptr);  // half a batch
  f.add(s1, 1500);
  const EmgBatch* b = f.front();
  REQUIRE(b);
  CHECK(b->sequence == 0);
  CHECK(b->t_first_us == 500);
  CHECK(b->channel_count == 3);
  CHECK(b->samples == 2);
  REQUIRE(b->len == 12);
  const std::vector<uint8_t> got(b->data, b->data + b->len);
  CHECK(got == std::vector<uint8_t>{0x02, 0x01, 0x04, 0x03, 0x00, 0x0F, 1, 0, 2, 0, 4, 0});
}

TEST_CASE("framer: a full queue drops whole batches, counts them and leaves a sequence gap") {
  EmgFramer f;
  REQUIRE(f.configure(0b1, 1, 10));
  const uint16_t v[1] = {5};
  const size_t batches = EmgFramer::kQueueFrames + 3;
  for (size_t i = 0; i < batches * 10; ++i) f.add(v, i * 1000);
  CHECK(f.queued() == EmgFramer::kQueueFrames);
  CHECK(f.dropped_samples() == 30);
  CHECK(f.next_sequence() == batches);
  uint32_t expect = 0;
  while (const EmgBatch* b = f.front()) {
    CHECK(b->sequence == expect++);
    f.pop();
  }
  for (size_t i = 0; i < 10; ++i) f.add(v, 0);
  REQUIRE(f.front());
  CHECK(f.front()->sequence == batches);  // the gap: kQueueFrames .. batches-1 never sent
}

TEST_CASE("framer: configuration limits follow EmgFrame.samples max_size") {
  CHECK(EmgFramer::valid(0xFF, 8, 32));       // 32 x 8 x 2 = 512 bytes: the largest batch
  CHECK_FALSE(EmgFramer::valid(0xFF, 8, 33));
  CHECK_FALSE(EmgFramer::valid(0, 4, 10));
  CHECK_FALSE(EmgFramer::valid(0x10, 4, 10));  // a channel the board lacks
  CHECK_FALSE(EmgFramer::valid(0x1, 4, 0));
  EmgFramer f;
  REQUIRE(f.configure(0xF, 4, 10));
  CHECK_FALSE(f.configure(0x1F, 4, 10));
  CHECK(f.channel_mask() == 0xF);  // unchanged after a refused configuration
  const uint16_t v[4] = {1, 2, 3, 4};
  for (int i = 0; i < 5; ++i) f.add(v, 0);
  REQUIRE(f.configure(0x3, 4, 4));  // the half batch is discarded and counted
  CHECK(f.dropped_samples() == 5);
  CHECK(f.front() == nullptr);
}
