#include "rhcore/device.h"

#include <string.h>

#include "pb_decode.h"
#include "pb_encode.h"
#include "rhcore/text.h"

namespace rhcore {

// The generated structs must match what the core assumes (device.options bounds RAM use).
static_assert(sizeof(robohead_v1_EmgFrame_samples_t::bytes) == kMaxFrameSampleBytes,
              "EmgFrame.samples max_size must equal kMaxFrameSampleBytes");
static_assert(sizeof(robohead_v1_MotorCommand::targets) / sizeof(float) == kMotorCount,
              "MotorCommand.targets max_count must be the motor count");
static_assert(sizeof(robohead_v1_Hello::servos) / sizeof(robohead_v1_ServoLimits) == kMotorCount,
              "Hello.servos max_count must be the motor count");
static_assert(sizeof(robohead_v1_DeviceStatus::servo_us) / sizeof(uint32_t) == kMotorCount,
              "DeviceStatus.servo_us max_count must be the motor count");
static_assert(robohead_v1_DeviceMessage_size <= kMaxPayload, "DeviceMessage fits a frame");
static_assert(robohead_v1_HostMessage_size <= kMaxPayload, "HostMessage fits a frame");
static_assert(sizeof(Device) < 16384, "the core's RAM stays small");

namespace {

// Upper bound of the wire size of one EmgFrame message (payload + framing).
const size_t kEmgWireMax = frame_max_wire(robohead_v1_DeviceMessage_size);

bool due(uint64_t now, uint64_t at) { return now >= at; }

// Next deadline of a periodic event: one period on, or a period from now if we fell behind
// (never a burst of catch-up events).
uint64_t advance(uint64_t at, uint64_t now, uint64_t period) {
  at += period;
  return at <= now ? now + period : at;
}

}  // namespace

Device::Device(Hal& hal, const DeviceConfig& config)
    : hal_(hal),
      config_(config),
      board_(nullptr),
      rx_(),
      sampler_(),
      framer_(),
      servos_(),
      failsafe_(config.command_timeout_ms),
      next_tick_us_(0),
      next_status_us_(0),
      last_error_us_(),
      error_sent_(),
      peer_schema_hash_(0),
      last_command_sequence_(0),
      decode_errors_(0),
      clamped_commands_(0),
      tx_overflows_(0),
      adc_start_failures_(0),
      latency_pending_(false),
      latency_us_(0),
      out_(),
      in_(),
      adc_buf_(),
      rx_chunk_(),
      payload_(),
      wire_(),
      tx_ring_(),
      tx_head_(0),
      tx_len_(0) {}

bool Device::begin() {
  board_ = &hal_.board_info();
  const uint64_t now = hal_.now_us();
  bool ok = true;
  char why[64];
  Text detail(why, sizeof(why));

  // Servos first: neutral from the first instant, whatever else is wrong.
  for (size_t i = 0; i < kMotorCount; ++i) {
    if (!servo_limits_valid(config_.servos[i])) {
      const ServoLimits safe = {1000, 2000, 1500, 10, false};
      config_.servos[i] = safe;
      detail.str("servo ").u32(static_cast<uint32_t>(i)).str(" limits invalid; ");
      ok = false;
    }
    servos_[i].init(config_.servos[i]);
  }
  servo_tick(now);
  next_tick_us_ = now + kServoTickUs;

  if (config_.status_period_ms < 200 || config_.status_period_ms > 1000) {
    config_.status_period_ms = 500;
    detail.str("status period; ");
    ok = false;
  }
  if (config_.command_timeout_ms < kMinCommandTimeoutMs ||
      config_.command_timeout_ms > kMaxCommandTimeoutMs) {
    config_.command_timeout_ms = 300;
    detail.str("command timeout; ");
    ok = false;
  }
  failsafe_.set_timeout_ms(config_.command_timeout_ms);

  const uint8_t hw = board_->adc_channels;
  const uint32_t all = hw >= 32 ? 0xFFFFFFFFu : ((1u << hw) - 1u);
  if (config_.channel_mask == 0) config_.channel_mask = all;
  if (!framer_.configure(config_.channel_mask, hw, config_.samples_per_frame)) {
    config_.channel_mask = all;
    config_.samples_per_frame = 1;
    framer_.configure(all, hw, 1);
    detail.str("channels/samples per frame; ");
    ok = false;
  }
  const uint16_t os = Sampler::choose_oversample(config_.sampling_rate_hz, hw, config_.oversample,
                                                 board_->adc_min_conversion_hz,
                                                 board_->adc_max_conversion_hz);
  if (os == 0 || !apply_sampling(config_.sampling_rate_hz, os)) {
    detail.str("sampling rate; ");
    ok = false;
  }

  next_status_us_ = now + static_cast<uint64_t>(config_.status_period_ms) * 1000u;
  send_hello(now);
  if (!ok) send_error(robohead_v1_ErrorCode_ERROR_CODE_BAD_CONFIG, why, 0, now, true);
  flush_tx();
  return ok;
}

bool Device::apply_sampling(uint32_t rate_hz, uint16_t oversample) {
  if (!sampler_.configure(board_->adc_channels, oversample, rate_hz)) return false;
  config_.sampling_rate_hz = rate_hz;
  if (!hal_.adc_start(sampler_.conversion_hz())) {
    ++adc_start_failures_;
    return false;
  }
  return true;
}

void Device::poll() {
  const uint64_t now = hal_.now_us();
  hal_.watchdog_feed();

  // 1. Receive.
  const FrameCounters before = rx_.counters();
  size_t n = hal_.serial_read(rx_chunk_, sizeof(rx_chunk_));
  const uint8_t* p = rx_chunk_;
  while (n) {
    const uint8_t* payload = nullptr;
    size_t len = 0;
    const size_t used = rx_.feed(p, n, &payload, &len);
    p += used;
    n -= used;
    if (payload) handle_payload(payload, len, now);
  }
  const FrameCounters& after = rx_.counters();
  if (after.cobs_errors != before.cobs_errors || after.crc_errors != before.crc_errors ||
      after.length_errors != before.length_errors) {
    char why[64];
    Text(why, sizeof(why))
        .str("frame: cobs ")
        .u32(after.cobs_errors)
        .str(", crc ")
        .u32(after.crc_errors)
        .str(", length ")
        .u32(after.length_errors)
        .str(" errors so far");
    send_error(robohead_v1_ErrorCode_ERROR_CODE_BAD_FRAME, why, 0, now, false);
  }

  // 2. Sample.
  pump_adc();

  // 3. Fail-safe and servos.
  if (failsafe_.update(now)) {
    for (size_t i = 0; i < kMotorCount; ++i) servos_[i].set_neutral_target();
    send_status(now);  // report the trip at once
  }
  if (due(now, next_tick_us_)) {
    servo_tick(now);
    next_tick_us_ = advance(next_tick_us_, now, kServoTickUs);
  }

  // 4. Status.
  if (due(now, next_status_us_)) {
    send_status(now);
    next_status_us_ =
        advance(next_status_us_, now, static_cast<uint64_t>(config_.status_period_ms) * 1000u);
  }

  // 5. Transmit.
  flush_emg();
  flush_tx();
}

void Device::pump_adc() {
  // Bounded: at most 8 chunks per pass, so a flood of readings cannot starve the servos.
  for (int k = 0; k < 8; ++k) {
    AdcBlockInfo info = {0, 0};
    const size_t n = hal_.adc_read(adc_buf_, kAdcChunk, &info);
    if (n == 0 && info.lost == 0) return;
    sampler_.push(adc_buf_, n, info, framer_);
    if (n < kAdcChunk) return;
  }
}

void Device::servo_tick(uint64_t now) {
  ServoFrame f;
  f.time_us = now;
  const bool follow = failsafe_.servos_follow_commands();
  for (size_t i = 0; i < kMotorCount; ++i) {
    if (!follow) servos_[i].set_neutral_target();
    f.pulse_us[i] = servos_[i].tick();
  }
  f.has_latency = latency_pending_;
  f.latency_us = latency_pending_ ? latency_us_ : 0;
  latency_pending_ = false;
  hal_.servo_output(f);
}

void Device::handle_payload(const uint8_t* payload, size_t len, uint64_t now) {
  pb_istream_t s = pb_istream_from_buffer(payload, len);
  in_.which_payload = 0;
  if (!pb_decode(&s, robohead_v1_HostMessage_fields, &in_)) {
    ++decode_errors_;
    char why[64];
    Text(why, sizeof(why)).str("HostMessage decode failed: ").str(PB_GET_ERROR(&s));
    send_error(robohead_v1_ErrorCode_ERROR_CODE_BAD_FRAME, why, 0, now, false);
    return;
  }
  switch (in_.which_payload) {
    case robohead_v1_HostMessage_motor_tag:
      on_motor(in_.payload.motor, now);
      break;
    case robohead_v1_HostMessage_ping_tag:
      on_ping(in_.payload.ping, now);
      break;
    case robohead_v1_HostMessage_set_config_tag:
      on_set_config(in_.payload.set_config, now);
      break;
    default:
      send_error(robohead_v1_ErrorCode_ERROR_CODE_UNSUPPORTED,
                 "HostMessage: no payload this firmware knows", 0, now, false);
      break;
  }
}

void Device::on_motor(const robohead_v1_MotorCommand& cmd, uint64_t now) {
  if (!failsafe_.accepts_commands()) {
    send_error(robohead_v1_ErrorCode_ERROR_CODE_SCHEMA_MISMATCH,
               "MotorCommand ignored: schema hash mismatch", 0, now, false);
    return;
  }
  const bool neutral = (cmd.flags & robohead_v1_MotorFlag_MOTOR_FLAG_NEUTRAL) != 0;
  if (!neutral && cmd.targets_count != kMotorCount) {
    char why[64];
    Text(why, sizeof(why))
        .str("MotorCommand.targets: expected ")
        .u32(static_cast<uint32_t>(kMotorCount))
        .str(" values, got ")
        .u32(cmd.targets_count);
    send_error(robohead_v1_ErrorCode_ERROR_CODE_BAD_FRAME, why, 0, now, false);
    return;
  }
  failsafe_.on_command(now);
  last_command_sequence_ = cmd.sequence;
  bool clamped = false;
  for (size_t i = 0; i < kMotorCount; ++i) {
    if (neutral) {
      servos_[i].set_neutral_target();
    } else if (servos_[i].set_target(cmd.targets[i])) {
      clamped = true;
    }
  }
  if (clamped) ++clamped_commands_;
  if (cmd.window_end_device_time_us != 0 && cmd.window_end_device_time_us <= now) {
    // Measured at arrival, so the figure is the round trip alone, not the wait for the tick.
    const uint64_t dt = now - cmd.window_end_device_time_us;
    latency_pending_ = true;
    latency_us_ = dt > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(dt);
  }
}

void Device::on_ping(const robohead_v1_Ping& ping, uint64_t now) {
  send_pong(ping, now);
  bool hello = ping.request_hello;
  if (ping.schema_hash != 0) {  // 0: the edge did not announce a hash
    peer_schema_hash_ = ping.schema_hash;
    const bool match = ping.schema_hash == config_.schema_hash;
    const bool was_mismatch = failsafe_.state() == kFailsafeSchemaMismatch;
    failsafe_.on_schema(match);
    if (!match) {
      char why[64];
      Text(why, sizeof(why))
          .str("schema hash: edge ")
          .hex32(ping.schema_hash)
          .str(", device ")
          .hex32(config_.schema_hash);
      send_error(robohead_v1_ErrorCode_ERROR_CODE_SCHEMA_MISMATCH, why, 0, now, true);
    }
    if (match == was_mismatch) {  // the state changed: say so
      hello = true;
      send_status(now);
    }
  }
  if (hello) send_hello(now);
}

void Device::on_set_config(const robohead_v1_SetConfig& sc, uint64_t now) {
  const uint8_t hw = board_->adc_channels;
  const uint32_t rate = sc.sampling_rate_hz ? sc.sampling_rate_hz : config_.sampling_rate_hz;
  const uint32_t mask = sc.channel_mask ? sc.channel_mask : framer_.channel_mask();
  const uint32_t spf = sc.samples_per_frame ? sc.samples_per_frame : framer_.samples_per_frame();
  const uint32_t timeout = sc.command_timeout_ms ? sc.command_timeout_ms : failsafe_.timeout_ms();
  char why[64];
  Text t(why, sizeof(why));
  uint16_t os = 0;
  if (rate < kMinSamplingRateHz || rate > kMaxSamplingRateHz) {
    t.str("SetConfig.sampling_rate_hz: ").u32(rate).str(" not in ").u32(kMinSamplingRateHz);
    t.str("..").u32(kMaxSamplingRateHz);
  } else if ((os = Sampler::choose_oversample(rate, hw, config_.oversample,
                                              board_->adc_min_conversion_hz,
                                              board_->adc_max_conversion_hz)) == 0) {
    t.str("SetConfig.sampling_rate_hz: ").u32(rate).str(" Hz x ").u32(hw);
    t.str(" ch exceeds the ADC's ").u32(board_->adc_max_conversion_hz).str(" Hz");
  } else if (mask >> hw) {
    t.str("SetConfig.channel_mask: ").hex32(mask).str(" but the board has ").u32(hw);
    t.str(" channels");
  } else if (spf > kMaxSamplesPerFrame ||
             !EmgFramer::valid(mask, hw, static_cast<uint16_t>(spf))) {
    t.str("SetConfig.samples_per_frame: ").u32(spf).str(" x 2 bytes x channels > ");
    t.u32(static_cast<uint32_t>(kMaxFrameSampleBytes));
  } else if (timeout < kMinCommandTimeoutMs || timeout > kMaxCommandTimeoutMs) {
    t.str("SetConfig.command_timeout_ms: ").u32(timeout).str(" not in ").u32(kMinCommandTimeoutMs);
    t.str("..").u32(kMaxCommandTimeoutMs);
  }
  if (t.length()) {
    send_error(robohead_v1_ErrorCode_ERROR_CODE_BAD_CONFIG, why, sc.request_id, now, true);
    return;
  }
  if (rate != sampler_.rate_hz() || os != sampler_.oversample()) {
    if (!apply_sampling(rate, os)) {
      send_error(robohead_v1_ErrorCode_ERROR_CODE_BAD_CONFIG,
                 "SetConfig.sampling_rate_hz: the ADC refused the rate", sc.request_id, now, true);
      return;
    }
  }
  framer_.configure(mask, hw, static_cast<uint16_t>(spf));
  config_.channel_mask = mask;
  config_.samples_per_frame = static_cast<uint16_t>(spf);
  config_.command_timeout_ms = timeout;
  failsafe_.set_timeout_ms(timeout);
  send_ack(sc.request_id);
  send_hello(now);
}

void Device::flush_emg() {
  while (const EmgBatch* b = framer_.front()) {
    if (tx_free() < kEmgWireMax) return;  // wait in the framer queue for the link
    out_.which_payload = robohead_v1_DeviceMessage_emg_tag;
    robohead_v1_EmgFrame& e = out_.payload.emg;
    e.sequence = b->sequence;
    e.device_time_us = b->t_first_us;
    e.channel_count = b->channel_count;
    e.samples.size = b->len;
    memcpy(e.samples.bytes, b->data, b->len);
    send_message();
    framer_.pop();
  }
}

robohead_v1_DeviceCounters Device::counters() const {
  robohead_v1_DeviceCounters c = robohead_v1_DeviceCounters_init_zero;
  const FrameCounters& f = rx_.counters();
  c.cobs_errors = f.cobs_errors;
  c.crc_errors = f.crc_errors;
  c.length_errors = f.length_errors;
  c.decode_errors = decode_errors_;
  c.adc_overflows = sampler_.overflows();
  c.dropped_samples = framer_.dropped_samples();
  c.clamped_commands = clamped_commands_;
  c.rx_frames = f.frames;
  c.failsafe_trips = failsafe_.trips();
  return c;
}

void Device::send_hello(uint64_t now) {
  memset(&out_, 0, sizeof(out_));
  out_.which_payload = robohead_v1_DeviceMessage_hello_tag;
  robohead_v1_Hello& h = out_.payload.hello;
  copy_string(h.firmware_version, sizeof(h.firmware_version), config_.firmware_version);
  h.schema_hash = config_.schema_hash;
  copy_string(h.board, sizeof(h.board), board_->board);
  h.channel_count = framer_.channel_count();
  h.sampling_rate_hz = sampler_.rate_hz();
  h.adc_bits = board_->adc_bits;
  h.servos_count = kMotorCount;
  for (size_t i = 0; i < kMotorCount; ++i) {
    const ServoLimits& l = servos_[i].limits();
    h.servos[i].min_us = l.min_us;
    h.servos[i].max_us = l.max_us;
    h.servos[i].neutral_us = l.neutral_us;
    h.servos[i].inverted = l.inverted;
    h.servos[i].max_step_us = l.max_step_us;
  }
  h.reset_reason = static_cast<robohead_v1_ResetReason>(board_->reset_reason);
  h.samples_per_frame = framer_.samples_per_frame();
  h.command_timeout_ms = failsafe_.timeout_ms();
  h.peer_schema_hash = peer_schema_hash_;
  h.device_time_us = now;
  copy_string(h.device_id, sizeof(h.device_id), board_->device_id);
  send_message();
}

void Device::send_status(uint64_t now) {
  memset(&out_, 0, sizeof(out_));
  out_.which_payload = robohead_v1_DeviceMessage_status_tag;
  robohead_v1_DeviceStatus& s = out_.payload.status;
  s.device_time_us = now;
  s.servo_us_count = kMotorCount;
  for (size_t i = 0; i < kMotorCount; ++i) s.servo_us[i] = servos_[i].output_us();
  s.failsafe = static_cast<robohead_v1_FailsafeState>(failsafe_.state());
  s.has_counters = true;
  s.counters = counters();
  s.uptime_ms = now / 1000u;
  s.last_command_sequence = last_command_sequence_;
  send_message();
}

void Device::send_pong(const robohead_v1_Ping& ping, uint64_t now) {
  memset(&out_, 0, sizeof(out_));
  out_.which_payload = robohead_v1_DeviceMessage_pong_tag;
  out_.payload.pong.nonce = ping.nonce;
  out_.payload.pong.device_time_us = now;
  out_.payload.pong.edge_time_us = ping.edge_time_us;
  send_message();
}

void Device::send_ack(uint32_t request_id) {
  memset(&out_, 0, sizeof(out_));
  out_.which_payload = robohead_v1_DeviceMessage_ack_tag;
  out_.payload.ack.request_id = request_id;
  send_message();
}

void Device::send_error(robohead_v1_ErrorCode code, const char* detail, uint32_t request_id,
                        uint64_t now, bool force) {
  const size_t k = static_cast<size_t>(code) < _robohead_v1_ErrorCode_ARRAYSIZE
                       ? static_cast<size_t>(code)
                       : 0;
  if (!force && error_sent_[k] && now - last_error_us_[k] < kErrorMinIntervalUs) return;
  error_sent_[k] = true;
  last_error_us_[k] = now;
  memset(&out_, 0, sizeof(out_));
  out_.which_payload = robohead_v1_DeviceMessage_error_tag;
  robohead_v1_Error& e = out_.payload.error;
  e.code = code;
  copy_string(e.detail, sizeof(e.detail), detail);
  e.request_id = request_id;
  e.expected_schema_hash = config_.schema_hash;
  e.received_schema_hash = peer_schema_hash_;
  send_message();
}

bool Device::send_message() {
  pb_ostream_t s = pb_ostream_from_buffer(payload_, kMaxPayload);
  if (!pb_encode(&s, robohead_v1_DeviceMessage_fields, &out_)) {
    ++tx_overflows_;  // cannot happen for well-formed structs; counted rather than hidden
    return false;
  }
  const size_t n =
      frame_encode(payload_, s.bytes_written, payload_, sizeof(payload_), wire_, sizeof(wire_));
  if (n == 0 || !tx_push(wire_, n)) {
    ++tx_overflows_;
    return false;
  }
  return true;
}

bool Device::tx_push(const uint8_t* data, size_t len) {
  if (len > tx_free()) return false;
  size_t tail = (tx_head_ + tx_len_) % kTxRingBytes;
  const size_t first = len < kTxRingBytes - tail ? len : kTxRingBytes - tail;
  memcpy(tx_ring_ + tail, data, first);
  memcpy(tx_ring_, data + first, len - first);
  tx_len_ += len;
  return true;
}

void Device::flush_tx() {
  while (tx_len_) {
    const size_t contiguous = tx_len_ < kTxRingBytes - tx_head_ ? tx_len_ : kTxRingBytes - tx_head_;
    const size_t w = hal_.serial_write(tx_ring_ + tx_head_, contiguous);
    tx_head_ = (tx_head_ + w) % kTxRingBytes;
    tx_len_ -= w;
    if (w < contiguous) return;  // the platform's buffer is full; retry next pass
  }
}

}  // namespace rhcore
