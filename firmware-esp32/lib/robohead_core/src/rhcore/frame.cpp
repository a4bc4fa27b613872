#include "rhcore/frame.h"

#include <string.h>

#include "rhcore/crc16.h"

namespace rhcore {

size_t frame_encode(const uint8_t* payload, size_t len, uint8_t* scratch, size_t scratch_cap,
                    uint8_t* out, size_t out_cap) {
  if (len > kMaxPayload || scratch_cap < len + kCrcLen || out_cap < 2) return 0;
  if (len > 0 && payload != scratch) memcpy(scratch, payload, len);
  const uint16_t crc = crc16(payload, len);
  scratch[len] = static_cast<uint8_t>(crc >> 8);
  scratch[len + 1] = static_cast<uint8_t>(crc & 0xFFu);
  const size_t body = cobs_encode(scratch, len + kCrcLen, out, out_cap - 1u);
  if (body == 0) return 0;
  out[body] = 0;
  return body + 1u;
}

FrameStatus frame_decode_in_place(uint8_t* body, size_t n, const uint8_t** payload,
                                  size_t* payload_len) {
  if (n > kMaxFrameBody) return kFrameLengthError;
  size_t decoded = 0;
  if (!cobs_decode(body, n, body, n, &decoded)) return kFrameCobsError;
  if (decoded < kCrcLen || decoded - kCrcLen > kMaxPayload) return kFrameLengthError;
  const size_t len = decoded - kCrcLen;
  const uint16_t received = static_cast<uint16_t>((body[len] << 8) | body[len + 1]);
  if (received != crc16(body, len)) return kFrameCrcError;
  *payload = body;
  *payload_len = len;
  return kFrameOk;
}

FrameDecoder::FrameDecoder() : len_(0), overlong_(false), counters_() {}

void FrameDecoder::reset() {
  len_ = 0;
  overlong_ = false;
}

size_t FrameDecoder::feed(const uint8_t* data, size_t n, const uint8_t** payload,
                          size_t* payload_len) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t b = data[i];
    if (b != 0) {
      if (overlong_) continue;
      if (len_ >= sizeof(buf_)) {
        overlong_ = true;
        len_ = 0;
        continue;
      }
      buf_[len_++] = b;
      continue;
    }
    // Delimiter: judge the frame collected so far.
    if (overlong_) {
      overlong_ = false;
      ++counters_.length_errors;
      continue;
    }
    if (len_ == 0) {
      ++counters_.empty_frames;
      continue;
    }
    const size_t body_len = len_;
    len_ = 0;
    switch (frame_decode_in_place(buf_, body_len, payload, payload_len)) {
      case kFrameOk:
        ++counters_.frames;
        return i + 1;
      case kFrameCobsError:
        ++counters_.cobs_errors;
        break;
      case kFrameCrcError:
        ++counters_.crc_errors;
        break;
      case kFrameLengthError:
        ++counters_.length_errors;
        break;
    }
  }
  return n;
}

}  // namespace rhcore
