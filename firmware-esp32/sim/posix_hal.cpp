#include "posix_hal.h"

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace rhsim {

namespace {
uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}
// The UART's own buffer: how far the line may "get ahead" (the ESP32 TX buffer is 4 KiB too).
const double kTxBurstBytes = 4096.0;
}  // namespace

PosixHal::PosixHal(const Params& p, EmgSource& source, uint64_t seed)
    : p_(p), source_(source), rng_(seed ^ 0xADC0ADC0ull), board_(), t0_ns_(mono_ns()) {
  board_.board = "sim";
  board_.device_id = p_.device_id.c_str();
  board_.reset_reason = rhcore::kResetSimulator;
  board_.adc_bits = static_cast<uint8_t>(p_.adc_bits);
  board_.adc_channels = static_cast<uint8_t>(p_.channels);
  // The classic ESP32's continuous-mode range, so the simulator oversamples like esp32dev.
  board_.adc_min_conversion_hz = 20000;
  board_.adc_max_conversion_hz = 2000000;
  values_.assign(p_.channels, 0);
  tx_tokens_ = kTxBurstBytes;
  if (p_.pwm_log) {
    std::fprintf(p_.pwm_log, "device_time_us,servo0_us,servo1_us,servo2_us,latency_us\n");
    std::fflush(p_.pwm_log);
  }
}

uint64_t PosixHal::now_us() { return (mono_ns() - t0_ns_) / 1000u; }

size_t PosixHal::serial_read(uint8_t* buf, size_t cap) {
  const ssize_t n = ::read(p_.fd_in, buf, cap);
  if (n > 0) return static_cast<size_t>(n);
  if (n == 0) link_closed_ = true;  // EOF on stdin
  return 0;                         // EAGAIN, or EIO while no client has the pty open
}

bool PosixHal::client_connected() {
  if (!p_.pty_master) return true;
  pollfd pfd = {p_.fd_out, POLLOUT, 0};
  return ::poll(&pfd, 1, 0) >= 0 && !(pfd.revents & POLLHUP);
}

size_t PosixHal::serial_write(const uint8_t* buf, size_t len) {
  if (!client_connected()) return len;  // nobody listening: the bytes leave into the void
  size_t allowed = len;
  if (p_.baud) {
    const uint64_t now = now_us();
    tx_tokens_ = std::min(kTxBurstBytes,
                          tx_tokens_ + static_cast<double>(now - tx_last_us_) * p_.baud / 10e6);
    tx_last_us_ = now;
    allowed = std::min(len, static_cast<size_t>(tx_tokens_));
  }
  if (allowed == 0) return 0;
  const ssize_t n = ::write(p_.fd_out, buf, allowed);
  if (n <= 0) return 0;  // EAGAIN: the reader is behind (or absent); the core retries
  tx_tokens_ -= static_cast<double>(n);
  bytes_sent_ += static_cast<uint64_t>(n);
  return static_cast<size_t>(n);
}

bool PosixHal::adc_start(uint32_t conversion_hz) {
  if (conversion_hz < board_.adc_min_conversion_hz || conversion_hz > board_.adc_max_conversion_hz)
    return false;
  conv_hz_ = conversion_hz;
  adc_t0_us_ = now_us();
  produced_ = 0;
  cached_k_ = UINT64_MAX;
  return true;
}

size_t PosixHal::adc_read(rhcore::AdcReading* out, size_t cap, rhcore::AdcBlockInfo* info) {
  info->lost = 0;
  info->t_last_us = 0;
  if (conv_hz_ == 0) return 0;
  const uint64_t elapsed = now_us() - adc_t0_us_;
  const uint64_t due = elapsed * conv_hz_ / 1000000u;
  // The DMA pool holds 100 ms of conversions; a longer stall of the loop loses the oldest.
  const uint64_t pool = conv_hz_ / 10u;
  if (due - produced_ > pool) {
    const uint64_t lost = due - produced_ - pool;
    info->lost = static_cast<uint32_t>(std::min<uint64_t>(lost, UINT32_MAX));
    produced_ += lost;
  }
  const size_t n = static_cast<size_t>(std::min<uint64_t>(due - produced_, cap));
  const unsigned ch = p_.channels;
  const uint64_t scans_per_s = conv_hz_ / ch;
  const double noise = source_.conversion_noise();
  const double max = static_cast<double>((1u << p_.adc_bits) - 1u);
  for (size_t j = 0; j < n; ++j) {
    const uint64_t m = produced_ + j;
    const uint64_t scan = m / ch;
    const unsigned c = static_cast<unsigned>(m % ch);
    const uint64_t k = scan * p_.source_rate_hz / scans_per_s;  // source sample of this scan
    if (k != cached_k_) {
      source_.sample(k, values_.data());
      cached_k_ = k;
    }
    double v = values_[c];
    if (noise > 0.0) v = std::clamp(std::round(v + rng_.normal() * noise), 0.0, max);
    out[j].raw = static_cast<uint16_t>(v);
    out[j].channel = static_cast<uint8_t>(c);
  }
  produced_ += n;
  if (n || info->lost) info->t_last_us = adc_t0_us_ + produced_ * 1000000u / conv_hz_;
  return n;
}

void PosixHal::servo_output(const rhcore::ServoFrame& f) {
  if (!p_.pwm_log) return;
  if (f.has_latency) {
    std::fprintf(p_.pwm_log, "%llu,%u,%u,%u,%u\n", static_cast<unsigned long long>(f.time_us),
                 f.pulse_us[0], f.pulse_us[1], f.pulse_us[2], f.latency_us);
  } else {
    std::fprintf(p_.pwm_log, "%llu,%u,%u,%u,\n", static_cast<unsigned long long>(f.time_us),
                 f.pulse_us[0], f.pulse_us[1], f.pulse_us[2]);
  }
  std::fflush(p_.pwm_log);  // readable while the simulator runs
}

void PosixHal::watchdog_feed() {
  const uint64_t now = now_us();
  if (last_feed_us_ && now - last_feed_us_ > max_gap_us_) max_gap_us_ = now - last_feed_us_;
  last_feed_us_ = now;
}

void PosixHal::wait(uint32_t timeout_us) {
  pollfd pfd = {p_.fd_in, POLLIN, 0};
  const timespec ts = {0, static_cast<long>(timeout_us) * 1000L};
  ::ppoll(&pfd, 1, &ts, nullptr);
  if (pfd.revents & (POLLHUP | POLLERR)) {
    // No client on the pty (or stdin closed): POLLHUP would return at once, so sleep instead.
    const timespec sl = {0, static_cast<long>(timeout_us) * 1000L};
    ::nanosleep(&sl, nullptr);
  }
}

}  // namespace rhsim
