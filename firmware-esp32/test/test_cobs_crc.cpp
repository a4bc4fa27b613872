// COBS and CRC-16: the exact bytes Python's `cobs` and binascii.crc_hqx produce.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "rhcore/cobs.h"
#include "rhcore/crc16.h"

using rhcore::cobs_decode;
using rhcore::cobs_encode;
using rhcore::cobs_max_encoded;

namespace {

std::vector<uint8_t> enc(const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out(cobs_max_encoded(in.size()));
  const size_t n = cobs_encode(in.data(), in.size(), out.data(), out.size());
  REQUIRE(n > 0);
  out.resize(n);
  return out;
}

bool dec(const std::vector<uint8_t>& in, std::vector<uint8_t>* out) {
  out->assign(in.size() + 1, 0xAA);
  size_t n = 0;
  if (!cobs_decode(in.data(), in.size(), out->data(), out->size(), &n)) return false;
  out->resize(n);
  return true;
}

std::vector<uint8_t> run(size_t n, uint8_t v = 0x01) { return std::vector<uint8_t>(n, v); }

}  // namespace

TEST_CASE("cobs: empty input encodes to a single 0x01 and back") {
  CHECK(enc({}) == std::vector<uint8_t>{0x01});
  std::vector<uint8_t> d;
  REQUIRE(dec({0x01}, &d));
  CHECK(d.empty());
}

TEST_CASE("cobs: all-zero inputs become runs of 0x01") {
  for (size_t n : {1u, 2u, 254u, 255u, 600u}) {
    CAPTURE(n);
    const auto e = enc(run(n, 0));
    CHECK(e == run(n + 1, 0x01));
    std::vector<uint8_t> d;
    REQUIRE(dec(e, &d));
    CHECK(d == run(n, 0));
  }
}

TEST_CASE("cobs: runs of 253, 254 and 255 non-zero bytes match Python's cobs") {
  // cobs.encode(b"\x01" * n): 253 -> fe + 253; 254 -> ff + 254 (no trailing code byte);
  // 255 -> ff + 254 + 02 01; 508 -> ff + 254 + ff + 254; 509 -> ... + 02 01.
  const auto e253 = enc(run(253));
  CHECK(e253.size() == 254);
  CHECK(e253[0] == 0xFE);
  const auto e254 = enc(run(254));
  REQUIRE(e254.size() == 255);
  CHECK(e254[0] == 0xFF);
  CHECK(e254.back() == 0x01);
  const auto e255 = enc(run(255));
  REQUIRE(e255.size() == 257);
  CHECK(e255[0] == 0xFF);
  CHECK(e255[255] == 0x02);
  CHECK(e255[256] == 0x01);
  CHECK(enc(run(508)).size() == 510);
  CHECK(enc(run(509)).size() == 512);
  for (size_t n : {253u, 254u, 255u, 508u, 509u}) {
    std::vector<uint8_t> d;
    REQUIRE(dec(enc(run(n)), &d));
    CHECK(d == run(n));
  }
  // A zero right after a full block.
  auto in = run(254);
  in.push_back(0);
  in.push_back(7);
  const auto e = enc(in);
  CHECK(e == [] {
    std::vector<uint8_t> x{0xFF};
    x.insert(x.end(), 254, 0x01);
    x.push_back(0x01);  // the zero
    x.push_back(0x02);
    x.push_back(0x07);
    return x;
  }());
}

TEST_CASE("cobs: round trip of random data never contains a zero and respects the bound") {
  uint32_t x = 12345;
  for (int iter = 0; iter < 2000; ++iter) {
    const size_t n = (x = x * 1664525u + 1013904223u) % 1100;
    std::vector<uint8_t> in(n);
    for (auto& b : in) {
      x = x * 1664525u + 1013904223u;
      b = (x >> 24) % 4 == 0 ? 0 : static_cast<uint8_t>(x >> 16);
    }
    const auto e = enc(in);
    CHECK(e.size() <= cobs_max_encoded(n));
    CHECK(std::find(e.begin(), e.end(), 0) == e.end());
    std::vector<uint8_t> d;
    REQUIRE(dec(e, &d));
    CHECK(d == in);
  }
}

TEST_CASE("cobs: decoding rejects a zero, an overlong block and a too-small output") {
  std::vector<uint8_t> d;
  CHECK_FALSE(dec({0x03, 0x01, 0x00}, &d));  // zero inside a block
  CHECK_FALSE(dec({0x00}, &d));              // zero as a code byte
  CHECK_FALSE(dec({0x05, 0x01, 0x01}, &d));  // block runs past the end
  const std::vector<uint8_t> ok = {0x03, 0x11, 0x22, 0x02, 0x33};  // 11 22 00 33
  uint8_t out[3];
  size_t n = 0;
  CHECK_FALSE(cobs_decode(ok.data(), ok.size(), out, sizeof(out), &n));
  uint8_t big[4];
  REQUIRE(cobs_decode(ok.data(), ok.size(), big, sizeof(big), &n));
  CHECK(n == 4);
  CHECK(big[2] == 0);
}

TEST_CASE("cobs: encoding into a too-small buffer fails without writing past it") {
  const auto in = run(300);
  std::vector<uint8_t> out(cobs_max_encoded(300) + 8, 0xEE);
  for (size_t cap = 0; cap < cobs_max_encoded(300); ++cap) {
    CHECK(cobs_encode(in.data(), in.size(), out.data(), cap) == 0);
    CHECK(out[cap] == 0xEE);
  }
  CHECK(cobs_encode(in.data(), in.size(), out.data(), cobs_max_encoded(300)) == 302);
}

TEST_CASE("cobs: decoding in place gives the same result") {
  std::vector<uint8_t> in = {1, 0, 2, 3, 0, 0, 4};
  auto e = enc(in);
  size_t n = 0;
  REQUIRE(cobs_decode(e.data(), e.size(), e.data(), e.size(), &n));
  e.resize(n);
  CHECK(e == in);
}

TEST_CASE("crc16: CCITT-FALSE check value, empty input and incremental use") {
  const char* check = "123456789";
  CHECK(rhcore::crc16(reinterpret_cast<const uint8_t*>(check), 9) == 0x29B1);
  CHECK(rhcore::crc16(nullptr, 0) == 0xFFFF);
  const uint8_t a[] = {0x00, 0xFF, 0x10, 0x21};
  CHECK(rhcore::crc16(a, 4) == 0x7C93);  // binascii.crc_hqx(bytes([0, 255, 16, 33]), 0xFFFF)
  uint16_t bitwise = 0xFFFF;
  for (uint8_t b : a) {
    bitwise ^= static_cast<uint16_t>(b << 8);
    for (int i = 0; i < 8; ++i)
      bitwise = static_cast<uint16_t>(bitwise & 0x8000 ? (bitwise << 1) ^ 0x1021 : bitwise << 1);
  }
  CHECK(rhcore::crc16(a, 4) == bitwise);
  CHECK(rhcore::crc16_update(rhcore::crc16(a, 2), a + 2, 2) == rhcore::crc16(a, 4));
}
