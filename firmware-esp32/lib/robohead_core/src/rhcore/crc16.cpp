#include "rhcore/crc16.h"

namespace rhcore {
namespace {

// Table for the byte-at-a-time form; 512 bytes of flash (const data stays out of RAM on ESP32).
struct Crc16Table {
  uint16_t v[256];
};

constexpr Crc16Table make_table() {
  Crc16Table t{};
  for (unsigned i = 0; i < 256; ++i) {
    uint16_t c = static_cast<uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b) {
      c = static_cast<uint16_t>((c & 0x8000u) ? ((c << 1) ^ 0x1021u) : (c << 1));
    }
    t.v[i] = c;
  }
  return t;
}

constexpr Crc16Table kTable = make_table();

}  // namespace

uint16_t crc16_update(uint16_t crc, const uint8_t* data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    crc = static_cast<uint16_t>((crc << 8) ^ kTable.v[((crc >> 8) ^ data[i]) & 0xFFu]);
  }
  return crc;
}

}  // namespace rhcore
