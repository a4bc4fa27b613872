// The whole core loop (rhcore::Device) against a scripted platform: what it sends, what the
// servos do, and how the fail-safe behaves over time.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "fake_hal.h"
#include "rhcore/device.h"
#include "robohead_schema_hash.h"
#include "wire.h"

using rhtest::FakeHal;
using rhtest::motor;
using rhtest::of_kind;
using rhtest::ping;

namespace {

struct Rig {
  explicit Rig(rhcore::DeviceConfig c = rhcore::default_config()) : cfg(c) {
    dev = std::make_unique<rhcore::Device>(hal, cfg);
  }

  void send(const robohead_v1_HostMessage& m) {
    const auto f = rhtest::host_frame(m);
    REQUIRE(!f.empty());
    hal.rx.insert(hal.rx.end(), f.begin(), f.end());
  }

  // Runs the loop for `us` in 1 ms steps; with_adc feeds readings at the real conversion rate.
  void run(uint64_t us, bool with_adc = false) {
    for (uint64_t t = 0; t < us; t += 1000) {
      hal.now += 1000;
      if (with_adc) {
        const uint64_t due = hal.now * hal.conversion_hz / 1000000u;
        const uint8_t ch = hal.board.adc_channels;
        for (; adc_made < due; ++adc_made) {
          const uint8_t c = static_cast<uint8_t>(adc_made % ch);
          hal.adc.push_back({static_cast<uint16_t>(1000 + 100 * c), c});
        }
        hal.adc_t_last_us = adc_made * 1000000u / hal.conversion_hz;
      }
      dev->poll();
    }
  }

  std::vector<robohead_v1_DeviceMessage> received() {
    int bad = 0;
    auto m = rhtest::device_messages(hal.tx, &bad);
    CHECK(bad == 0);
    return m;
  }

  FakeHal hal;
  rhcore::DeviceConfig cfg;
  std::unique_ptr<rhcore::Device> dev;
  uint64_t adc_made = 0;
};

const rhcore::ServoLimits& limits(const Rig& r, size_t i) { return r.cfg.servos[i]; }

}  // namespace

TEST_CASE("device: Hello at boot with the schema hash, board facts and servo limits") {
  Rig r;
  r.hal.now = 1234;
  REQUIRE(r.dev->begin());
  const auto msgs = r.received();
  REQUIRE(msgs.size() == 1);
  REQUIRE(msgs[0].which_payload == robohead_v1_DeviceMessage_hello_tag);
  const robohead_v1_Hello& h = msgs[0].payload.hello;
  CHECK(h.schema_hash == ROBOHEAD_SCHEMA_HASH);
  CHECK(std::string(h.board) == "test");
  CHECK(std::string(h.device_id) == "test-0001");
  CHECK(std::string(h.firmware_version) == r.cfg.firmware_version);
  CHECK(h.channel_count == 4);
  CHECK(h.sampling_rate_hz == r.cfg.sampling_rate_hz);
  CHECK(h.samples_per_frame == r.cfg.samples_per_frame);
  CHECK(h.command_timeout_ms == r.cfg.command_timeout_ms);
  CHECK(h.adc_bits == 12);
  CHECK(h.reset_reason == robohead_v1_ResetReason_RESET_REASON_POWER_ON);
  CHECK(h.device_time_us == 1234);
  CHECK(h.peer_schema_hash == 0);
  REQUIRE(h.servos_count == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(h.servos[i].min_us == limits(r, i).min_us);
    CHECK(h.servos[i].neutral_us == limits(r, i).neutral_us);
    CHECK(h.servos[i].max_step_us == limits(r, i).max_step_us);
  }
  // The servos output neutral from the first tick on, and the ADC runs at rate x ch x os.
  REQUIRE(!r.hal.ticks.empty());
  for (size_t i = 0; i < 3; ++i) CHECK(r.hal.ticks[0].pulse_us[i] == limits(r, i).neutral_us);
  CHECK(r.hal.conversion_hz == r.cfg.sampling_rate_hz * 4 * r.dev->sampler().oversample());
  CHECK(r.dev->failsafe_state() == rhcore::kFailsafeBootNeutral);
}

TEST_CASE("device: Ping gets a Pong echoing nonce and edge time; request_hello adds a Hello") {
  Rig r;
  r.dev->begin();
  r.received();
  r.send(ping(77, ROBOHEAD_SCHEMA_HASH, false, 555));
  r.run(1000);
  auto msgs = r.received();
  auto pongs = of_kind(msgs, robohead_v1_DeviceMessage_pong_tag);
  REQUIRE(pongs.size() == 1);
  CHECK(pongs[0].payload.pong.nonce == 77);
  CHECK(pongs[0].payload.pong.edge_time_us == 555);
  CHECK(pongs[0].payload.pong.device_time_us == r.hal.now);
  CHECK(of_kind(msgs, robohead_v1_DeviceMessage_hello_tag).empty());
  r.send(ping(78, ROBOHEAD_SCHEMA_HASH, true));
  r.run(1000);
  msgs = r.received();
  const auto hellos = of_kind(msgs, robohead_v1_DeviceMessage_hello_tag);
  REQUIRE(hellos.size() == 1);
  CHECK(hellos[0].payload.hello.peer_schema_hash == ROBOHEAD_SCHEMA_HASH);
  CHECK(of_kind(msgs, robohead_v1_DeviceMessage_error_tag).empty());
}

TEST_CASE("device: servos stay neutral until the first valid command, then slew to it") {
  Rig r;
  r.dev->begin();
  r.run(500000);
  for (const auto& t : r.hal.ticks)
    for (size_t i = 0; i < 3; ++i) CHECK(t.pulse_us[i] == limits(r, i).neutral_us);
  r.hal.ticks.clear();
  r.send(motor(1, 1.0f, 1.0f, 0.5f));
  // Keep commanding (every 20 ms) for 0.6 s: long enough for the longest move.
  for (int k = 0; k < 30; ++k) {
    r.send(motor(2 + k, 1.0f, 1.0f, 0.5f));
    r.run(20000);
  }
  CHECK(r.dev->failsafe_state() == rhcore::kFailsafeActive);
  // Invariant over every tick: no step larger than max_step_us; and the targets are reached.
  for (size_t k = 1; k < r.hal.ticks.size(); ++k)
    for (size_t i = 0; i < 3; ++i) {
      const int step = static_cast<int>(r.hal.ticks[k].pulse_us[i]) -
                       static_cast<int>(r.hal.ticks[k - 1].pulse_us[i]);
      CHECK(std::abs(step) <= limits(r, i).max_step_us);
    }
  const auto& last = r.hal.ticks.back();
  CHECK(last.pulse_us[0] == limits(r, 0).max_us);
  CHECK(last.pulse_us[1] == limits(r, 1).max_us);
  CHECK(last.pulse_us[2] == (limits(r, 2).min_us + limits(r, 2).max_us) / 2);
  // Ticks are 20 ms apart.
  for (size_t k = 1; k < r.hal.ticks.size(); ++k)
    CHECK(r.hal.ticks[k].time_us - r.hal.ticks[k - 1].time_us == rhcore::kServoTickUs);
}

TEST_CASE("device: no command for the timeout -> status at once, slew to neutral; a command recovers") {
  Rig r;
  r.dev->begin();
  for (int k = 0; k < 40; ++k) {
    r.send(motor(k, 1.0f, 1.0f, 1.0f));
    r.run(20000);
  }
  r.received();
  const uint64_t last_cmd = r.hal.now - 20000 + 1000;  // arrival time of the last command
  r.hal.ticks.clear();
  r.run(800000);
  // Held at the target until the timeout...
  uint64_t first_move = 0, neutral_at = 0;
  for (const auto& t : r.hal.ticks) {
    const bool at_target = t.pulse_us[0] == limits(r, 0).max_us;
    if (!at_target && !first_move) first_move = t.time_us;
    if (t.pulse_us[0] == limits(r, 0).neutral_us && t.pulse_us[1] == limits(r, 1).neutral_us &&
        t.pulse_us[2] == limits(r, 2).neutral_us && !neutral_at)
      neutral_at = t.time_us;
  }
  const uint64_t timeout_us = r.cfg.command_timeout_ms * 1000ull;
  CHECK(first_move > last_cmd + timeout_us);
  CHECK(first_move <= last_cmd + timeout_us + rhcore::kServoTickUs + 1000);
  // ...then back to neutral within the slew time: 1000 us at 50 us per tick = 20 ticks.
  REQUIRE(neutral_at != 0);
  CHECK(neutral_at - first_move <= 20 * rhcore::kServoTickUs);
  CHECK(r.dev->failsafe_state() == rhcore::kFailsafeTimeoutNeutral);
  CHECK(r.dev->counters().failsafe_trips == 1);
  // The trip was reported at once: a DeviceStatus within a millisecond of the timeout.
  const auto msgs = r.received();
  bool reported = false;
  for (const auto& m : of_kind(msgs, robohead_v1_DeviceMessage_status_tag)) {
    if (m.payload.status.failsafe == robohead_v1_FailsafeState_FAILSAFE_STATE_TIMEOUT_NEUTRAL &&
        m.payload.status.device_time_us <= last_cmd + timeout_us + 2000) {
      reported = true;
      CHECK(m.payload.status.counters.failsafe_trips == 1);
    }
  }
  CHECK(reported);
  // Recovery on a fresh command.
  r.send(motor(100, 0.0f, 0.0f, 0.0f));
  r.run(1000);
  CHECK(r.dev->failsafe_state() == rhcore::kFailsafeActive);
  CHECK(r.dev->servo(0).target_us() == limits(r, 0).min_us);
}

TEST_CASE("device: the neutral flag, clamping and NaN") {
  Rig r;
  r.dev->begin();
  r.send(motor(1, -2.0f, 5.0f, std::nanf("")));
  r.run(1000);
  CHECK(r.dev->servo(0).target_us() == limits(r, 0).min_us);
  CHECK(r.dev->servo(1).target_us() == limits(r, 1).max_us);
  CHECK(r.dev->servo(2).target_us() == limits(r, 2).neutral_us);
  CHECK(r.dev->counters().clamped_commands == 1);
  r.send(motor(2, 0.2f, 0.3f, 0.4f));
  r.run(1000);
  CHECK(r.dev->counters().clamped_commands == 1);
  r.send(motor(3, 1.0f, 1.0f, 1.0f, 0, robohead_v1_MotorFlag_MOTOR_FLAG_NEUTRAL));
  r.run(1000);
  for (size_t i = 0; i < 3; ++i) CHECK(r.dev->servo(i).target_us() == limits(r, i).neutral_us);
  CHECK(r.dev->failsafe_state() == rhcore::kFailsafeActive);  // a valid command all the same
}

TEST_CASE("device: a MotorCommand with the wrong number of targets is rejected with an Error") {
  Rig r;
  r.dev->begin();
  r.received();
  auto m = motor(1, 1.0f, 1.0f, 1.0f);
  m.payload.motor.targets_count = 2;
  r.send(m);
  r.run(1000);
  CHECK(r.dev->failsafe_state() == rhcore::kFailsafeBootNeutral);
  const auto errors = of_kind(r.received(), robohead_v1_DeviceMessage_error_tag);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].payload.error.code == robohead_v1_ErrorCode_ERROR_CODE_BAD_FRAME);
  CHECK(std::string(errors[0].payload.error.detail) == "MotorCommand.targets: expected 3 values, got 2");
}

TEST_CASE("device: a schema-hash mismatch is reported in Error and Hello, and blocks commands") {
  Rig r;
  r.dev->begin();
  r.received();
  const uint32_t other = ROBOHEAD_SCHEMA_HASH ^ 0x1u;
  r.send(ping(5, other, false));
  r.send(motor(1, 1.0f, 1.0f, 1.0f));
  r.run(200000);
  CHECK(r.dev->failsafe_state() == rhcore::kFailsafeSchemaMismatch);
  CHECK(r.dev->servo(0).output_us() == limits(r, 0).neutral_us);
  const auto msgs = r.received();
  const auto errors = of_kind(msgs, robohead_v1_DeviceMessage_error_tag);
  REQUIRE(!errors.empty());
  CHECK(errors[0].payload.error.code == robohead_v1_ErrorCode_ERROR_CODE_SCHEMA_MISMATCH);
  CHECK(errors[0].payload.error.expected_schema_hash == ROBOHEAD_SCHEMA_HASH);
  CHECK(errors[0].payload.error.received_schema_hash == other);
  const auto hellos = of_kind(msgs, robohead_v1_DeviceMessage_hello_tag);
  REQUIRE(hellos.size() == 1);
  CHECK(hellos[0].payload.hello.peer_schema_hash == other);
  CHECK(hellos[0].payload.hello.schema_hash == ROBOHEAD_SCHEMA_HASH);
  // A Ping with the right hash clears it; the next command drives the servos again.
  r.send(ping(6, ROBOHEAD_SCHEMA_HASH, false));
  r.run(1000);
  CHECK(r.dev->failsafe_state() == rhcore::kFailsafeBootNeutral);
  r.send(motor(2, 1.0f, 1.0f, 1.0f));
  r.run(1000);
  CHECK(r.dev->failsafe_state() == rhcore::kFailsafeActive);
}

TEST_CASE("device: sEMG flows as EmgFrames with consecutive sequences and timestamps") {
  Rig r;
  r.dev->begin();
  r.received();
  r.run(1000000, true);  // 1 s at 1 kHz, 10 samples per frame
  const auto emg = of_kind(r.received(), robohead_v1_DeviceMessage_emg_tag);
  REQUIRE(emg.size() >= 98);
  const uint32_t spf = r.cfg.samples_per_frame;
  const uint64_t frame_us = 1000000ull * spf / r.cfg.sampling_rate_hz;
  for (size_t k = 0; k < emg.size(); ++k) {
    const robohead_v1_EmgFrame& e = emg[k].payload.emg;
    CHECK(e.sequence == k);
    CHECK(e.channel_count == 4);
    REQUIRE(e.samples.size == 2 * 4 * spf);
    for (uint32_t c = 0; c < 4; ++c) {  // channel c reads 1000 + 100 c in every conversion
      const int v = e.samples.bytes[2 * c] | (e.samples.bytes[2 * c + 1] << 8);
      CHECK(v == 1000 + 100 * static_cast<int>(c));
    }
    if (k) CHECK(e.device_time_us - emg[k - 1].payload.emg.device_time_us == frame_us);
  }
  CHECK(r.dev->counters().dropped_samples == 0);
  CHECK(r.dev->counters().adc_overflows == 0);
}

TEST_CASE("device: a stalled link queues, then drops whole frames with a sequence gap") {
  Rig r;
  r.dev->begin();
  r.received();
  r.hal.tx_budget = 0;  // the host stopped reading: 4 KiB of TX ring + 8 queued frames fill up
  r.run(1000000, true);
  CHECK(r.dev->counters().dropped_samples > 0);
  CHECK(r.dev->counters().dropped_samples % r.cfg.samples_per_frame == 0);
  r.hal.tx_budget = SIZE_MAX;
  r.run(200000, true);
  const auto emg = of_kind(r.received(), robohead_v1_DeviceMessage_emg_tag);
  REQUIRE(emg.size() > 10);
  bool gap = false;
  for (size_t k = 1; k < emg.size(); ++k) {
    const uint32_t d = emg[k].payload.emg.sequence - emg[k - 1].payload.emg.sequence;
    CHECK(d >= 1);
    if (d > 1) gap = true;
  }
  CHECK(gap);
  const uint32_t lost_frames = r.dev->counters().dropped_samples / r.cfg.samples_per_frame;
  CHECK(emg.back().payload.emg.sequence + 1 == emg.size() + lost_frames);
}

TEST_CASE("device: garbage on the link is counted, reported, and the next frame still works") {
  Rig r;
  r.dev->begin();
  r.received();
  const uint8_t junk[] = {0x11, 0x22, 0x33, 0x00, 0x05, 0x01, 0x00, 0xFF, 0xFF, 0x00};
  r.hal.rx.insert(r.hal.rx.end(), junk, junk + sizeof(junk));
  // A well-framed payload that is no HostMessage (field 1 as a truncated varint).
  const auto bad_pb = rhtest::frame_of({0x08});
  r.hal.rx.insert(r.hal.rx.end(), bad_pb.begin(), bad_pb.end());
  r.send(ping(9, ROBOHEAD_SCHEMA_HASH, false));
  r.run(1000);
  const auto c = r.dev->counters();
  CHECK(c.cobs_errors + c.crc_errors + c.length_errors == 3);
  CHECK(c.decode_errors == 1);
  CHECK(c.rx_frames == 2);
  const auto msgs = r.received();
  CHECK(of_kind(msgs, robohead_v1_DeviceMessage_pong_tag).size() == 1);
  const auto errors = of_kind(msgs, robohead_v1_DeviceMessage_error_tag);
  REQUIRE(!errors.empty());
  CHECK(errors[0].payload.error.code == robohead_v1_ErrorCode_ERROR_CODE_BAD_FRAME);
  // Errors of one kind are rate limited: a flood of junk gives at most 5 replies per second.
  for (int k = 0; k < 1000; ++k) {
    r.hal.rx.insert(r.hal.rx.end(), junk, junk + sizeof(junk));
    r.run(1000);
  }
  CHECK(of_kind(r.received(), robohead_v1_DeviceMessage_error_tag).size() <= 6);
}

TEST_CASE("device: SetConfig is validated, acknowledged and announced in a new Hello") {
  Rig r;
  r.dev->begin();
  r.received();
  robohead_v1_HostMessage m = robohead_v1_HostMessage_init_zero;
  m.which_payload = robohead_v1_HostMessage_set_config_tag;
  m.payload.set_config.request_id = 41;
  m.payload.set_config.sampling_rate_hz = 500;
  m.payload.set_config.channel_mask = 0b0101;
  m.payload.set_config.samples_per_frame = 5;
  m.payload.set_config.command_timeout_ms = 500;
  r.send(m);
  r.run(1000);
  auto msgs = r.received();
  const auto acks = of_kind(msgs, robohead_v1_DeviceMessage_ack_tag);
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].payload.ack.request_id == 41);
  const auto hellos = of_kind(msgs, robohead_v1_DeviceMessage_hello_tag);
  REQUIRE(hellos.size() == 1);
  CHECK(hellos[0].payload.hello.sampling_rate_hz == 500);
  CHECK(hellos[0].payload.hello.channel_count == 2);
  CHECK(hellos[0].payload.hello.samples_per_frame == 5);
  CHECK(hellos[0].payload.hello.command_timeout_ms == 500);
  // 500 Hz x 4 channels x 8 = 16 kHz is below the ESP32's 20 kHz: oversampling is raised.
  CHECK(r.dev->sampler().oversample() == 10);
  CHECK(r.hal.conversion_hz == 20000);
  r.run(100000, true);
  const auto emg = of_kind(r.received(), robohead_v1_DeviceMessage_emg_tag);
  REQUIRE(!emg.empty());
  CHECK(emg.back().payload.emg.channel_count == 2);
  CHECK(emg.back().payload.emg.samples.size == 2 * 2 * 5);
  const int c1 = emg.back().payload.emg.samples.bytes[2] | (emg.back().payload.emg.samples.bytes[3] << 8);
  CHECK(c1 == 1200);  // the second sent channel is hardware channel 2

  struct Bad {
    uint32_t rate, mask, spf, timeout;
    std::string field;
  };
  const Bad bad[] = {{10, 0, 0, 0, "SetConfig.sampling_rate_hz"},
                     {0, 0x30, 0, 0, "SetConfig.channel_mask"},
                     {0, 0xF, 33, 0, "SetConfig.samples_per_frame"},
                     {0, 0, 0, 20, "SetConfig.command_timeout_ms"}};
  for (const Bad& b : bad) {
    CAPTURE(b.field);
    m.payload.set_config.request_id = 50;
    m.payload.set_config.sampling_rate_hz = b.rate;
    m.payload.set_config.channel_mask = b.mask;
    m.payload.set_config.samples_per_frame = b.spf;
    m.payload.set_config.command_timeout_ms = b.timeout;
    r.send(m);
    r.run(1000);
    msgs = r.received();
    CHECK(of_kind(msgs, robohead_v1_DeviceMessage_ack_tag).empty());
    const auto errors = of_kind(msgs, robohead_v1_DeviceMessage_error_tag);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].payload.error.code == robohead_v1_ErrorCode_ERROR_CODE_BAD_CONFIG);
    CHECK(errors[0].payload.error.request_id == 50);
    CHECK(std::string(errors[0].payload.error.detail).rfind(b.field, 0) == 0);
  }
  CHECK(r.dev->sampler().rate_hz() == 500);  // refused requests changed nothing
}

TEST_CASE("device: DeviceStatus at the configured rate with counters and servo outputs") {
  Rig r;
  r.dev->begin();
  r.received();
  r.run(5000000);
  const auto st = of_kind(r.received(), robohead_v1_DeviceMessage_status_tag);
  const size_t expected = 5000 / r.cfg.status_period_ms;
  CHECK(st.size() >= expected - 1);
  CHECK(st.size() <= expected + 1);
  for (const auto& s : st) {
    CHECK(s.payload.status.has_counters);
    CHECK(s.payload.status.servo_us_count == 3);
    CHECK(s.payload.status.failsafe == robohead_v1_FailsafeState_FAILSAFE_STATE_BOOT_NEUTRAL);
    CHECK(s.payload.status.uptime_ms == s.payload.status.device_time_us / 1000);
  }
}

TEST_CASE("device: loop latency = command arrival time - window_end_device_time_us") {
  Rig r;
  r.dev->begin();
  r.run(100500);  // half-way between 1 ms loop steps and off the 20 ms servo grid
  r.hal.ticks.clear();
  const uint64_t window_end = r.hal.now - 15000;
  r.send(motor(1, 0.5f, 0.5f, 0.5f, window_end));
  r.run(40000);
  REQUIRE(r.hal.ticks.size() >= 2);
  CHECK(r.hal.ticks[0].has_latency);
  // The command arrives on the first 1 ms loop step after it was sent, not on the servo tick.
  CHECK(r.hal.ticks[0].latency_us == 15000 + 1000);
  CHECK(r.hal.ticks[0].latency_us < r.hal.ticks[0].time_us - window_end);
  CHECK_FALSE(r.hal.ticks[1].has_latency);  // only for the tick that applied the command
  // A window end in the future (clock confusion) is ignored rather than wrapping around.
  r.send(motor(2, 0.5f, 0.5f, 0.5f, r.hal.now + 1000000));
  r.hal.ticks.clear();
  r.run(40000);
  for (const auto& t : r.hal.ticks) CHECK_FALSE(t.has_latency);
}

TEST_CASE("device: invalid configuration falls back to safe values and says so") {
  rhcore::DeviceConfig cfg = rhcore::default_config();
  cfg.servos[1] = {2000, 1000, 1500, 10, false};
  cfg.command_timeout_ms = 1;
  Rig r(cfg);
  CHECK_FALSE(r.dev->begin());
  const auto msgs = r.received();
  const auto errors = of_kind(msgs, robohead_v1_DeviceMessage_error_tag);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].payload.error.code == robohead_v1_ErrorCode_ERROR_CODE_BAD_CONFIG);
  CHECK(rhcore::servo_limits_valid(r.dev->servo(1).limits()));
  CHECK(of_kind(msgs, robohead_v1_DeviceMessage_hello_tag).size() == 1);
}
