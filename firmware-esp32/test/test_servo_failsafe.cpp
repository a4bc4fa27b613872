// Servo mapping, clamping and slew; the fail-safe state machine's timing.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <limits>

#include "rhcore/failsafe.h"
#include "rhcore/servo.h"

using rhcore::Failsafe;
using rhcore::Servo;
using rhcore::ServoLimits;
using rhcore::servo_target_to_us;

namespace {
const ServoLimits kLimits = {1000, 2000, 1500, 50, false};
const ServoLimits kInverted = {1100, 1900, 1900, 40, true};
}  // namespace

TEST_CASE("servo: targets map linearly onto [min_us, max_us], reversed when inverted") {
  CHECK(servo_target_to_us(kLimits, 0.0f, nullptr) == 1000);
  CHECK(servo_target_to_us(kLimits, 1.0f, nullptr) == 2000);
  CHECK(servo_target_to_us(kLimits, 0.5f, nullptr) == 1500);
  CHECK(servo_target_to_us(kLimits, 0.2504f, nullptr) == 1250);
  CHECK(servo_target_to_us(kLimits, 0.2506f, nullptr) == 1251);  // rounds to nearest
  CHECK(servo_target_to_us(kInverted, 0.0f, nullptr) == 1900);
  CHECK(servo_target_to_us(kInverted, 1.0f, nullptr) == 1100);
  CHECK(servo_target_to_us(kInverted, 0.25f, nullptr) == 1700);
}

TEST_CASE("servo: out-of-range and NaN targets are clamped and reported") {
  bool clamped = false;
  CHECK(servo_target_to_us(kLimits, -0.5f, &clamped) == 1000);
  CHECK(clamped);
  CHECK(servo_target_to_us(kLimits, 7.0f, &clamped) == 2000);
  CHECK(clamped);
  CHECK(servo_target_to_us(kLimits, std::numeric_limits<float>::infinity(), &clamped) == 2000);
  CHECK(clamped);
  CHECK(servo_target_to_us(kLimits, -std::numeric_limits<float>::infinity(), &clamped) == 1000);
  CHECK(clamped);
  CHECK(servo_target_to_us(kLimits, std::nanf(""), &clamped) == 1500);  // NaN -> the safe pose
  CHECK(clamped);
  CHECK(servo_target_to_us(kLimits, 1.0f, &clamped) == 2000);
  CHECK_FALSE(clamped);
  CHECK(servo_target_to_us(kLimits, 0.0f, &clamped) == 1000);
  CHECK_FALSE(clamped);
  // Whatever the input, the output stays inside the limits.
  for (float t = -3.0f; t < 3.0f; t += 0.013f) {
    const uint16_t us = servo_target_to_us(kInverted, t, nullptr);
    CHECK(us >= kInverted.min_us);
    CHECK(us <= kInverted.max_us);
  }
}

TEST_CASE("servo: the output slews at most max_step_us per tick and lands exactly") {
  Servo s;
  s.init(kLimits);
  CHECK(s.output_us() == 1500);
  CHECK(s.target_us() == 1500);
  s.set_target(1.0f);  // 500 us away: ceil(500 / 50) = 10 ticks
  uint16_t prev = s.output_us();
  int ticks = 0;
  while (s.output_us() != 2000) {
    const uint16_t now = s.tick();
    CHECK(now > prev);
    CHECK(now - prev <= 50);
    prev = now;
    REQUIRE(++ticks <= 10);
  }
  CHECK(ticks == 10);
  s.set_target(0.013f);  // 1013 us: not a multiple of the step
  ticks = 0;
  while (s.output_us() != 1013) {
    const uint16_t now = s.tick();
    CHECK(prev - now <= 50);
    CHECK(now >= 1013);  // never overshoots
    prev = now;
    REQUIRE(++ticks <= 20);
  }
  CHECK(ticks == 20);
  CHECK(s.tick() == 1013);  // holds
}

TEST_CASE("servo: LEDC duty for a pulse width at 20 and 14 bits") {
  CHECK(rhcore::servo_duty(1500, 14, 20000) == 1229);     // 1500 / 20000 * 16384 = 1228.8
  CHECK(rhcore::servo_duty(1000, 14, 20000) == 819);      // 819.2
  CHECK(rhcore::servo_duty(2000, 20, 20000) == 104858);   // 104857.6
  CHECK(rhcore::servo_duty(20000, 14, 20000) == 16383);   // never the overflow value
  CHECK(rhcore::servo_duty(0, 14, 20000) == 0);
  CHECK(rhcore::servo_duty(1500, 0, 20000) == 0);
  // One microsecond is resolvable at 14 bits (0.82 counts) and exact-ish at 20 bits.
  const uint32_t step = rhcore::servo_duty(1501, 20, 20000) - rhcore::servo_duty(1500, 20, 20000);
  CHECK(step >= 52);  // 52.4 counts per microsecond
  CHECK(step <= 53);
}

TEST_CASE("servo: limits are validated") {
  CHECK(rhcore::servo_limits_valid(kLimits));
  CHECK(rhcore::servo_limits_valid(kInverted));
  CHECK_FALSE(rhcore::servo_limits_valid({2000, 1000, 1500, 50, false}));
  CHECK_FALSE(rhcore::servo_limits_valid({1000, 2000, 2500, 50, false}));
  CHECK_FALSE(rhcore::servo_limits_valid({1000, 2000, 1500, 0, false}));
  CHECK_FALSE(rhcore::servo_limits_valid({0, 2000, 1500, 50, false}));
  CHECK_FALSE(rhcore::servo_limits_valid({1000, 3500, 1500, 50, false}));
}

TEST_CASE("failsafe: boot neutral until the first valid command, then active") {
  Failsafe f(300);
  CHECK(f.state() == rhcore::kFailsafeBootNeutral);
  CHECK_FALSE(f.servos_follow_commands());
  CHECK_FALSE(f.update(10'000'000));  // no command ever: stays in BOOT_NEUTRAL, no trip
  CHECK(f.state() == rhcore::kFailsafeBootNeutral);
  f.on_command(10'000'000);
  CHECK(f.state() == rhcore::kFailsafeActive);
  CHECK(f.servos_follow_commands());
}

TEST_CASE("failsafe: the timeout trips exactly once, after timeout_ms, and a fresh command recovers") {
  Failsafe f(300);
  f.on_command(1'000'000);
  CHECK_FALSE(f.update(1'300'000));  // exactly the timeout: still fine
  CHECK(f.state() == rhcore::kFailsafeActive);
  CHECK(f.update(1'300'001));        // one microsecond later: trip
  CHECK(f.state() == rhcore::kFailsafeTimeoutNeutral);
  CHECK_FALSE(f.update(2'000'000));  // reported once
  CHECK(f.trips() == 1);
  f.on_command(2'100'000);
  CHECK(f.state() == rhcore::kFailsafeActive);
  // Commands every 250 ms keep it active forever.
  for (uint64_t t = 2'100'000; t < 10'000'000; t += 250'000) {
    f.on_command(t);
    CHECK_FALSE(f.update(t + 249'000));
  }
  CHECK(f.trips() == 1);
  f.set_timeout_ms(1000);
  CHECK(f.timeout_ms() == 1000);
}

TEST_CASE("failsafe: a schema mismatch ignores commands until the edge's hash matches") {
  Failsafe f(300);
  f.on_command(0);
  f.on_schema(false);
  CHECK(f.state() == rhcore::kFailsafeSchemaMismatch);
  CHECK_FALSE(f.accepts_commands());
  f.on_command(1000);
  CHECK(f.state() == rhcore::kFailsafeSchemaMismatch);
  CHECK_FALSE(f.update(10'000'000));
  f.on_schema(true);
  CHECK(f.state() == rhcore::kFailsafeTimeoutNeutral);  // had commands before: not "boot"
  Failsafe g(300);
  g.on_schema(false);
  g.on_schema(true);
  CHECK(g.state() == rhcore::kFailsafeBootNeutral);
  g.on_schema(true);  // a matching hash changes nothing otherwise
  CHECK(g.state() == rhcore::kFailsafeBootNeutral);
}
