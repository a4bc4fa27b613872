// Test helpers: build host frames and decode what the device sent, with the core's own codec.
#ifndef ROBOHEAD_TEST_WIRE_H
#define ROBOHEAD_TEST_WIRE_H

#include <cstdint>
#include <string>
#include <vector>

#include "pb_decode.h"
#include "pb_encode.h"
#include "rhcore/frame.h"
#include "robohead/protocol/v1/device.pb.h"

namespace rhtest {

inline std::vector<uint8_t> frame_of(const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> scratch(payload.size() + 2), out(rhcore::frame_max_wire(payload.size()));
  const size_t n = rhcore::frame_encode(payload.data(), payload.size(), scratch.data(),
                                        scratch.size(), out.data(), out.size());
  out.resize(n);
  return out;
}

inline std::vector<uint8_t> host_frame(const robohead_v1_HostMessage& m) {
  std::vector<uint8_t> payload(rhcore::kMaxPayload);
  pb_ostream_t s = pb_ostream_from_buffer(payload.data(), payload.size());
  if (!pb_encode(&s, robohead_v1_HostMessage_fields, &m)) return {};
  payload.resize(s.bytes_written);
  return frame_of(payload);
}

inline robohead_v1_HostMessage ping(uint32_t nonce, uint32_t schema_hash, bool request_hello,
                                    uint64_t edge_time_us = 0) {
  robohead_v1_HostMessage m = robohead_v1_HostMessage_init_zero;
  m.which_payload = robohead_v1_HostMessage_ping_tag;
  m.payload.ping.nonce = nonce;
  m.payload.ping.schema_hash = schema_hash;
  m.payload.ping.request_hello = request_hello;
  m.payload.ping.edge_time_us = edge_time_us;
  return m;
}

inline robohead_v1_HostMessage motor(uint32_t seq, float a, float b, float c,
                                     uint64_t window_end_us = 0, uint32_t flags = 0) {
  robohead_v1_HostMessage m = robohead_v1_HostMessage_init_zero;
  m.which_payload = robohead_v1_HostMessage_motor_tag;
  m.payload.motor.sequence = seq;
  m.payload.motor.targets_count = 3;
  m.payload.motor.targets[0] = a;
  m.payload.motor.targets[1] = b;
  m.payload.motor.targets[2] = c;
  m.payload.motor.flags = flags;
  m.payload.motor.window_end_device_time_us = window_end_us;
  return m;
}

// Decodes every complete frame in bytes (and removes them); garbage is a test failure signal:
// *bad counts frames that did not decode.
inline std::vector<robohead_v1_DeviceMessage> device_messages(std::vector<uint8_t>& bytes,
                                                              int* bad = nullptr) {
  std::vector<robohead_v1_DeviceMessage> out;
  rhcore::FrameDecoder dec;
  size_t pos = 0;
  size_t consumed_to = 0;
  while (pos < bytes.size()) {
    const uint8_t* payload = nullptr;
    size_t len = 0;
    pos += dec.feed(bytes.data() + pos, bytes.size() - pos, &payload, &len);
    if (!payload) break;
    consumed_to = pos;
    robohead_v1_DeviceMessage m = robohead_v1_DeviceMessage_init_zero;
    pb_istream_t s = pb_istream_from_buffer(payload, len);
    if (pb_decode(&s, robohead_v1_DeviceMessage_fields, &m)) {
      out.push_back(m);
    } else if (bad) {
      ++*bad;
    }
  }
  if (bad) {
    const rhcore::FrameCounters& c = dec.counters();
    *bad += static_cast<int>(c.cobs_errors + c.crc_errors + c.length_errors);
  }
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<long>(consumed_to));
  return out;
}

inline std::vector<robohead_v1_DeviceMessage> of_kind(
    const std::vector<robohead_v1_DeviceMessage>& all, pb_size_t tag) {
  std::vector<robohead_v1_DeviceMessage> out;
  for (const auto& m : all)
    if (m.which_payload == tag) out.push_back(m);
  return out;
}

}  // namespace rhtest

#endif  // ROBOHEAD_TEST_WIRE_H
