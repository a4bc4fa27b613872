// Serial framing, the same rules as robohead.protocol.framing:
//   wire frame = COBS(payload + CRC-16/CCITT-FALSE big-endian) 0x00
// The receiver drops everything up to the next 0x00 on any error and counts the error's kind.
// Every length is checked before a byte is written: the decoder's buffer is bounded by
// kMaxFrameBody and a frame growing past it is discarded up to its delimiter unbuffered.
#ifndef RHCORE_FRAME_H
#define RHCORE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "rhcore/cobs.h"
#include "robohead_schema_hash.h"

namespace rhcore {

// Largest protobuf payload of one frame, either direction (= framing.MAX_PAYLOAD).
static const size_t kMaxPayload = ROBOHEAD_MAX_PAYLOAD;
static const size_t kCrcLen = 2;
// Largest COBS body (payload + CRC) without the delimiter (= framing.MAX_FRAME).
static const size_t kMaxFrameBody = cobs_max_encoded(kMaxPayload + kCrcLen);
// Largest complete wire frame for a payload of n bytes, delimiter included.
constexpr size_t frame_max_wire(size_t payload_len) {
  return cobs_max_encoded(payload_len + kCrcLen) + 1u;
}

// Builds the wire frame for payload[0..len) into out. Returns the frame length (delimiter
// included), or 0 if len > kMaxPayload or a buffer is too small (out_cap >= frame_max_wire(len)
// always suffices).
// scratch must hold len + 2 bytes and not overlap out; payload may be scratch itself (the
// protobuf encoder writes straight into it, saving a copy).
size_t frame_encode(const uint8_t* payload, size_t len, uint8_t* scratch, size_t scratch_cap,
                    uint8_t* out, size_t out_cap);

// Checks one frame body (the bytes between two delimiters) and returns its payload in place:
// on success *payload points into body and *payload_len excludes the CRC.
enum FrameStatus : int8_t {
  kFrameOk = 0,
  kFrameCobsError = -1,
  kFrameCrcError = -2,
  kFrameLengthError = -3,
};
FrameStatus frame_decode_in_place(uint8_t* body, size_t n, const uint8_t** payload,
                                  size_t* payload_len);

struct FrameCounters {
  uint32_t frames;         // valid payloads returned
  uint32_t cobs_errors;
  uint32_t crc_errors;
  uint32_t length_errors;  // longer than kMaxFrameBody, or shorter than the CRC
  uint32_t empty_frames;   // 0x00 0x00: harmless, a peer may flush with a lone delimiter
};

// Streaming decoder: feed bytes in any chunking, get whole payloads back one at a time.
class FrameDecoder {
 public:
  FrameDecoder();

  // Consumes data until one valid frame completes or the data ends. Returns the number of bytes
  // consumed; when a frame completed, *payload/*payload_len are set (valid until the next
  // feed() or reset()) and the caller calls feed() again with the remaining bytes.
  size_t feed(const uint8_t* data, size_t n, const uint8_t** payload, size_t* payload_len);

  // Forgets a partial frame (e.g. after the port was reopened).
  void reset();

  const FrameCounters& counters() const { return counters_; }

 private:
  uint8_t buf_[kMaxFrameBody];
  size_t len_;
  bool overlong_;  // discarding up to the next delimiter
  FrameCounters counters_;
};

}  // namespace rhcore

#endif  // RHCORE_FRAME_H
