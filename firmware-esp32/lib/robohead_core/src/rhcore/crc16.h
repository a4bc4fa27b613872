// CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor.
// Equal to Python's binascii.crc_hqx(data, 0xFFFF); check value crc16("123456789") == 0x29B1.
// Appended big-endian after the payload of every serial frame.
#ifndef RHCORE_CRC16_H
#define RHCORE_CRC16_H

#include <stddef.h>
#include <stdint.h>

namespace rhcore {

static const uint16_t kCrc16Init = 0xFFFFu;

// Continues a CRC over more data: crc16_update(crc16_update(kCrc16Init, a), b) == crc16(a + b).
uint16_t crc16_update(uint16_t crc, const uint8_t* data, size_t len);

inline uint16_t crc16(const uint8_t* data, size_t len) { return crc16_update(kCrc16Init, data, len); }

}  // namespace rhcore

#endif  // RHCORE_CRC16_H
