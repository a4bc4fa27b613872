// libFuzzer harness: the core's streaming frame decoder (rhcore::FrameDecoder) and the one-shot
// frame_decode_in_place(), on any bytes in any chunking.
//
// Properties checked on every input (a failed check aborts, which libFuzzer reports as a crash):
//   - no memory error or undefined behaviour (ASan + UBSan);
//   - every delimiter is accounted for in exactly one counter;
//   - a returned payload is at most kMaxPayload bytes and re-encodes to exactly the frame body
//     it came from (the decoder accepts only what the encoder produces);
//   - the chunking does not matter: byte-by-byte and whole-buffer decoding agree.
// Input layout: byte 0 selects the chunk size (1..256), the rest is the serial stream.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "rhcore/frame.h"

namespace {

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      __builtin_trap();                                                      \
    }                                                                        \
  } while (0)

struct Decoded {
  std::vector<std::vector<uint8_t>> payloads;
  rhcore::FrameCounters counters;
};

Decoded decode(const uint8_t* data, size_t n, size_t chunk) {
  Decoded out;
  rhcore::FrameDecoder dec;
  size_t pos = 0;
  while (pos < n) {
    const size_t take = (n - pos) < chunk ? (n - pos) : chunk;
    const uint8_t* p = data + pos;
    size_t left = take;
    while (left) {
      const uint8_t* payload = nullptr;
      size_t len = 0;
      const size_t used = dec.feed(p, left, &payload, &len);
      CHECK(used >= 1 && used <= left);
      p += used;
      left -= used;
      if (payload) {
        CHECK(len <= rhcore::kMaxPayload);
        out.payloads.emplace_back(payload, payload + len);
      }
    }
    pos += take;
  }
  out.counters = dec.counters();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t chunk = static_cast<size_t>(data[0]) + 1u;
  const uint8_t* stream = data + 1;
  const size_t n = size - 1;

  const Decoded a = decode(stream, n, chunk);
  const Decoded b = decode(stream, n, 1);
  const Decoded c = decode(stream, n, n ? n : 1);

  size_t delimiters = 0;
  for (size_t i = 0; i < n; ++i) delimiters += stream[i] == 0;
  const rhcore::FrameCounters& k = a.counters;
  CHECK(k.frames + k.cobs_errors + k.crc_errors + k.length_errors + k.empty_frames == delimiters);
  CHECK(k.frames == a.payloads.size());
  CHECK(a.payloads == b.payloads && b.payloads == c.payloads);
  CHECK(memcmp(&a.counters, &b.counters, sizeof(k)) == 0);

  // Each accepted payload re-encodes to a frame that decodes to itself.
  for (const auto& p : a.payloads) {
    std::vector<uint8_t> scratch(p.size() + rhcore::kCrcLen);
    std::vector<uint8_t> wire(rhcore::frame_max_wire(p.size()));
    const size_t w = rhcore::frame_encode(p.data(), p.size(), scratch.data(), scratch.size(),
                                          wire.data(), wire.size());
    CHECK(w >= 2 && wire[w - 1] == 0);
    for (size_t i = 0; i + 1 < w; ++i) CHECK(wire[i] != 0);
    const uint8_t* payload = nullptr;
    size_t len = 0;
    CHECK(rhcore::frame_decode_in_place(wire.data(), w - 1, &payload, &len) == rhcore::kFrameOk);
    CHECK(len == p.size() && (len == 0 || memcmp(payload, p.data(), len) == 0));
  }

  // The one-shot decoder on the raw input (no delimiter handling): never out of bounds.
  std::vector<uint8_t> body(stream, stream + n);
  const uint8_t* payload = nullptr;
  size_t len = 0;
  if (rhcore::frame_decode_in_place(body.data(), body.size(), &payload, &len) == rhcore::kFrameOk)
    CHECK(payload >= body.data() && len <= body.size());
  return 0;
}
