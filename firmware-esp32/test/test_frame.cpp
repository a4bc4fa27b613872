// Framing and the streaming decoder: lengths, errors, garbage and resynchronisation.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "rhcore/crc16.h"
#include "rhcore/frame.h"
#include "wire.h"

using rhcore::FrameDecoder;
using rhtest::frame_of;

namespace {

std::vector<std::vector<uint8_t>> feed_all(FrameDecoder& d, const std::vector<uint8_t>& bytes,
                                           size_t chunk = SIZE_MAX) {
  std::vector<std::vector<uint8_t>> out;
  for (size_t start = 0; start < bytes.size();) {
    const size_t end = std::min(bytes.size(), start > SIZE_MAX - chunk ? SIZE_MAX : start + chunk);
    const uint8_t* p = bytes.data() + start;
    size_t n = end - start;
    while (n) {
      const uint8_t* payload = nullptr;
      size_t len = 0;
      const size_t used = d.feed(p, n, &payload, &len);
      p += used;
      n -= used;
      if (payload) out.emplace_back(payload, payload + len);
    }
    start = end;
  }
  return out;
}

std::vector<uint8_t> payload_of(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

}  // namespace

TEST_CASE("frame: encode appends the CRC big-endian and one trailing zero") {
  const std::vector<uint8_t> payload = {0x08, 0x01};
  const auto f = frame_of(payload);
  REQUIRE(!f.empty());
  CHECK(f.back() == 0);
  CHECK(std::count(f.begin(), f.end(), 0) == 1);
  std::vector<uint8_t> body(f.begin(), f.end() - 1);
  std::vector<uint8_t> raw(body.size());
  size_t n = 0;
  REQUIRE(rhcore::cobs_decode(body.data(), body.size(), raw.data(), raw.size(), &n));
  REQUIRE(n == 4);
  const uint16_t crc = rhcore::crc16(payload.data(), 2);
  CHECK(raw[2] == (crc >> 8));
  CHECK(raw[3] == (crc & 0xFF));
}

TEST_CASE("frame: payload length limits on both sides") {
  std::vector<uint8_t> max(rhcore::kMaxPayload, 0x55);
  const auto f = frame_of(max);
  REQUIRE(f.size() > 0);
  CHECK(f.size() <= rhcore::frame_max_wire(rhcore::kMaxPayload));
  FrameDecoder d;
  const auto got = feed_all(d, f);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == max);

  std::vector<uint8_t> too_big(rhcore::kMaxPayload + 1, 0x55);
  std::vector<uint8_t> scratch(too_big.size() + 2), out(rhcore::frame_max_wire(too_big.size()));
  CHECK(rhcore::frame_encode(too_big.data(), too_big.size(), scratch.data(), scratch.size(),
                             out.data(), out.size()) == 0);
  // Too small output or scratch buffers fail instead of overrunning.
  CHECK(rhcore::frame_encode(max.data(), 10, scratch.data(), 11, out.data(), out.size()) == 0);
  CHECK(rhcore::frame_encode(max.data(), 10, scratch.data(), 12, out.data(), 13) == 0);
  CHECK(rhcore::frame_encode(max.data(), 10, scratch.data(), 12, out.data(), 14) == 14);
}

TEST_CASE("frame: decoder accepts any chunking") {
  std::vector<uint8_t> stream;
  std::vector<std::vector<uint8_t>> sent;
  for (uint8_t i = 0; i < 20; ++i) {
    sent.push_back(payload_of(i * 13u, i));
    const auto f = frame_of(sent.back());
    stream.insert(stream.end(), f.begin(), f.end());
  }
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{64}, SIZE_MAX}) {
    CAPTURE(chunk);
    FrameDecoder d;
    CHECK(feed_all(d, stream, chunk) == sent);
    CHECK(d.counters().frames == 20);
    CHECK(d.counters().crc_errors == 0);
  }
}

TEST_CASE("frame: garbage, corruption and overlong frames are counted and resynchronised") {
  const auto good = payload_of(40, 3);
  const auto f = frame_of(good);
  std::vector<uint8_t> stream = {0x13, 0x37, 0xFF, 0x42};  // noise from before we listened
  stream.push_back(0);
  stream.insert(stream.end(), f.begin(), f.end());
  auto corrupt = f;
  corrupt[5] ^= 0x01;  // single bit flip: CRC error (COBS still valid unless it hit a code)
  stream.insert(stream.end(), corrupt.begin(), corrupt.end());
  stream.insert(stream.end(), {0x05, 0x01, 0x00});  // COBS block past the end
  stream.insert(stream.end(), {0x02, 0x07, 0x00});  // decodes to 1 byte: shorter than the CRC
  stream.insert(stream.end(), {0x00, 0x00});        // empty frames
  std::vector<uint8_t> flood(rhcore::kMaxFrameBody + 10, 0x01);
  stream.insert(stream.end(), flood.begin(), flood.end());
  stream.push_back(0);
  stream.insert(stream.end(), f.begin(), f.end());

  FrameDecoder d;
  const auto got = feed_all(d, stream, 7);
  REQUIRE(got.size() == 2);
  CHECK(got[0] == good);
  CHECK(got[1] == good);
  const auto& c = d.counters();
  CHECK(c.frames == 2);
  CHECK(c.cobs_errors + c.crc_errors == 3);  // noise, the flipped frame, the bad block
  CHECK(c.crc_errors >= 1);
  CHECK(c.length_errors == 2);  // the 1-byte frame and the flood
  CHECK(c.empty_frames == 2);
}

TEST_CASE("frame: a body of exactly kMaxFrameBody bytes is still judged, one more is dropped") {
  FrameDecoder d;
  std::vector<uint8_t> body(rhcore::kMaxFrameBody, 0x01);
  body.push_back(0);
  feed_all(d, body);
  CHECK(d.counters().length_errors == 1);  // decodes to zeros: too long a payload
  CHECK(d.counters().cobs_errors == 0);
  std::vector<uint8_t> longer(rhcore::kMaxFrameBody + 1, 0x01);
  longer.push_back(0);
  feed_all(d, longer);
  CHECK(d.counters().length_errors == 2);
  d.reset();
  const auto got = feed_all(d, frame_of({1, 2, 3}));
  CHECK(got.size() == 1);
}
