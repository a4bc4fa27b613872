// Every golden vector in shared/vectors/: the firmware decodes the frame, finds the message kind
// the JSON names, and re-encodes it to exactly the same bytes Python's protobuf produced.
#include <doctest/doctest.h>

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fake_hal.h"
#include "rhcore/device.h"
#include "wire.h"

namespace {

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> vector_names() {
  std::vector<std::string> names;
  if (DIR* d = opendir(ROBOHEAD_VECTORS_DIR)) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.size() > 4 && n.compare(n.size() - 4, 4, ".hex") == 0) names.push_back(n.substr(0, n.size() - 4));
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<uint8_t> parse_hex(const std::string& text) {
  std::vector<uint8_t> out;
  std::string digits;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) digits.push_back(c);
  REQUIRE_MESSAGE(digits.size() % 2 == 0, "odd number of hex digits");
  for (size_t i = 0; i < digits.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  return out;
}

// The first key inside "message": {...}, or "" for an empty envelope.
std::string message_kind(const std::string& json) {
  const auto m = json.find("\"message\"");
  REQUIRE(m != std::string::npos);
  const auto brace = json.find('{', m);
  REQUIRE(brace != std::string::npos);
  size_t i = brace + 1;
  while (i < json.size() && std::isspace(static_cast<unsigned char>(json[i]))) ++i;
  if (json[i] == '}') return "";
  REQUIRE(json[i] == '"');
  return json.substr(i + 1, json.find('"', i + 1) - i - 1);
}

std::string direction(const std::string& json) {
  if (json.find("\"direction\": \"device\"") != std::string::npos) return "device";
  if (json.find("\"direction\": \"host\"") != std::string::npos) return "host";
  return "";
}

const char* device_kind(pb_size_t tag) {
  switch (tag) {
    case robohead_v1_DeviceMessage_hello_tag: return "hello";
    case robohead_v1_DeviceMessage_emg_tag: return "emg";
    case robohead_v1_DeviceMessage_status_tag: return "status";
    case robohead_v1_DeviceMessage_pong_tag: return "pong";
    case robohead_v1_DeviceMessage_ack_tag: return "ack";
    case robohead_v1_DeviceMessage_error_tag: return "error";
    default: return "";
  }
}

const char* host_kind(pb_size_t tag) {
  switch (tag) {
    case robohead_v1_HostMessage_motor_tag: return "motor";
    case robohead_v1_HostMessage_set_config_tag: return "set_config";
    case robohead_v1_HostMessage_ping_tag: return "ping";
    default: return "";
  }
}

template <typename Msg>
std::vector<uint8_t> decode_reencode(const uint8_t* payload, size_t len, const pb_msgdesc_t* desc,
                                     Msg* msg) {
  pb_istream_t in = pb_istream_from_buffer(payload, len);
  REQUIRE_MESSAGE(pb_decode(&in, desc, msg), PB_GET_ERROR(&in));
  std::vector<uint8_t> out(rhcore::kMaxPayload);
  pb_ostream_t os = pb_ostream_from_buffer(out.data(), out.size());
  REQUIRE_MESSAGE(pb_encode(&os, desc, msg), PB_GET_ERROR(&os));
  out.resize(os.bytes_written);
  return out;
}

}  // namespace

TEST_CASE("vectors: every golden vector decodes and re-encodes to identical bytes") {
  const auto names = vector_names();
  REQUIRE_MESSAGE(names.size() >= 10, "expected the golden vectors in " ROBOHEAD_VECTORS_DIR);
  int device_count = 0, host_count = 0;
  for (const auto& name : names) {
    CAPTURE(name);
    const std::string base = std::string(ROBOHEAD_VECTORS_DIR) + "/" + name;
    const auto wire = parse_hex(read_text(base + ".hex"));
    const std::string json = read_text(base + ".json");
    REQUIRE(!wire.empty());
    REQUIRE(wire.back() == 0);
    REQUIRE(std::count(wire.begin(), wire.end(), 0) == 1);

    std::vector<uint8_t> body(wire.begin(), wire.end() - 1);
    const uint8_t* payload = nullptr;
    size_t len = 0;
    REQUIRE(rhcore::frame_decode_in_place(body.data(), body.size(), &payload, &len) ==
            rhcore::kFrameOk);
    const std::vector<uint8_t> original(payload, payload + len);

    std::vector<uint8_t> again;
    const std::string dir = direction(json), kind = message_kind(json);
    if (dir == "device") {
      robohead_v1_DeviceMessage m = robohead_v1_DeviceMessage_init_zero;
      again = decode_reencode(original.data(), original.size(), robohead_v1_DeviceMessage_fields, &m);
      CHECK(kind == device_kind(m.which_payload));
      if (m.which_payload == robohead_v1_DeviceMessage_emg_tag) {
        CHECK(m.payload.emg.samples.size % (2 * m.payload.emg.channel_count) == 0);
      }
      ++device_count;
    } else {
      REQUIRE(dir == "host");
      robohead_v1_HostMessage m = robohead_v1_HostMessage_init_zero;
      again = decode_reencode(original.data(), original.size(), robohead_v1_HostMessage_fields, &m);
      CHECK(kind == host_kind(m.which_payload));
      ++host_count;
    }
    CHECK(again == original);
    CHECK(rhtest::frame_of(again) == wire);
  }
  CHECK(device_count > 0);
  CHECK(host_count > 0);
}

TEST_CASE("vectors: the device answers every host vector without a decode or framing error") {
  for (const auto& name : vector_names()) {
    if (name.rfind("host_", 0) != 0) continue;
    CAPTURE(name);
    rhtest::FakeHal hal;
    rhcore::DeviceConfig cfg = rhcore::default_config();
    rhcore::Device dev(hal, cfg);
    dev.begin();
    const auto wire = parse_hex(read_text(std::string(ROBOHEAD_VECTORS_DIR) + "/" + name + ".hex"));
    hal.rx.insert(hal.rx.end(), wire.begin(), wire.end());
    hal.now = 1000;
    dev.poll();
    const auto c = dev.counters();
    CHECK(c.rx_frames == 1);
    CHECK(c.decode_errors == 0);
    CHECK(c.crc_errors + c.cobs_errors + c.length_errors == 0);
  }
}
