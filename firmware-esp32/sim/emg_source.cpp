#include "emg_source.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace rhsim {

Rng::Rng(uint64_t seed) : s_(seed ? seed : 0x9E3779B97F4A7C15ull) {}

uint64_t Rng::next() {
  s_ ^= s_ >> 12;
  s_ ^= s_ << 25;
  s_ ^= s_ >> 27;
  return s_ * 0x2545F4914F6CDD1Dull;
}

double Rng::uniform() { return (static_cast<double>(next() >> 11) + 0.5) / 9007199254740992.0; }

double Rng::normal() {
  if (have_spare_) {
    have_spare_ = false;
    return spare_;
  }
  const double u = uniform(), v = uniform();
  const double r = std::sqrt(-2.0 * std::log(u));
  spare_ = r * std::sin(2.0 * M_PI * v);
  have_spare_ = true;
  return r * std::cos(2.0 * M_PI * v);
}

double ActivationScript::activation(double t_s, size_t channel) const {
  if (times.empty()) return 0.0;
  const double period = times.back();
  if (times.size() == 1 || period <= 0.0) return values[0][channel];
  double t = std::fmod(t_s, period);
  if (t < times.front()) return values.front()[channel];
  const auto it = std::upper_bound(times.begin(), times.end(), t);
  if (it == times.end()) return values.back()[channel];
  const size_t i = static_cast<size_t>(it - times.begin());
  const double t0 = times[i - 1], t1 = times[i];
  const double w = (t - t0) / (t1 - t0);
  return values[i - 1][channel] * (1.0 - w) + values[i][channel] * w;
}

bool parse_activation_script(const std::string& text, const std::string& name, size_t channels,
                             ActivationScript* out, std::string* error) {
  ActivationScript s;
  std::istringstream in(text);
  std::string line;
  for (size_t lineno = 1; std::getline(in, line); ++lineno) {
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    std::istringstream fields(line);
    std::vector<double> nums;
    std::string tok;
    while (fields >> tok) {
      char* end = nullptr;
      const double v = std::strtod(tok.c_str(), &end);
      if (end == tok.c_str() || *end != '\0' || !std::isfinite(v)) {
        *error = name + ":" + std::to_string(lineno) + ": '" + tok + "' is not a number";
        return false;
      }
      nums.push_back(v);
    }
    if (nums.empty()) continue;
    const std::string where = name + ":" + std::to_string(lineno) + ": ";
    if (nums.size() - 1 > channels) {
      *error = where + std::to_string(nums.size() - 1) + " activations for " +
               std::to_string(channels) + " channels";
      return false;
    }
    if (!s.times.empty() && nums[0] <= s.times.back()) {
      *error = where + "time " + tok + " does not increase";
      return false;
    }
    if (nums[0] < 0.0) {
      *error = where + "time must be >= 0";
      return false;
    }
    std::vector<double> a(channels, 0.0);
    for (size_t c = 1; c < nums.size(); ++c) {
      if (nums[c] < 0.0 || nums[c] > 1.0) {
        *error = where + "activation " + std::to_string(nums[c]) + " of channel " +
                 std::to_string(c - 1) + " is outside [0, 1]";
        return false;
      }
      a[c - 1] = nums[c];
    }
    s.times.push_back(nums[0]);
    s.values.push_back(a);
  }
  if (s.times.empty()) {
    *error = name + ": no keyframes (expected lines `t_seconds a0 a1 ...`)";
    return false;
  }
  *out = std::move(s);
  return true;
}

ActivationScript default_activation_script(size_t channels) {
  ActivationScript s;
  for (size_t c = 0; c < channels; ++c) {
    const double t0 = static_cast<double>(c);
    std::vector<double> rest(channels, 0.0), on(channels, 0.0);
    on[c] = 1.0;
    s.times.insert(s.times.end(), {t0, t0 + 0.1, t0 + 0.6, t0 + 0.7});
    s.values.insert(s.values.end(), {rest, on, on, rest});
  }
  s.times.push_back(static_cast<double>(channels));
  s.values.push_back(std::vector<double>(channels, 0.0));
  return s;
}

bool read_emg_csv(const std::string& path, CsvRecording* out, std::string* error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *error = path + ": cannot open";
    return false;
  }
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (!data.empty() && data.back() != '\n') data.erase(data.rfind('\n') + 1);  // cut-short tail
  std::istringstream in(data);
  std::string line;
  if (!std::getline(in, line)) {
    *error = path + ": empty file (expected a header device_time_us,sequence,<channels>)";
    return false;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::vector<std::string> header;
  {
    std::istringstream h(line);
    std::string col;
    while (std::getline(h, col, ',')) header.push_back(col);
  }
  if (header.size() < 3 || header[0] != "device_time_us" || header[1] != "sequence") {
    *error = path + ":1: header is '" + line +
             "', expected device_time_us,sequence,<one column per channel>";
    return false;
  }
  CsvRecording r;
  r.channel_names.assign(header.begin() + 2, header.end());
  std::vector<int64_t> times;
  for (size_t lineno = 2; std::getline(in, line); ++lineno) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::istringstream row(line);
    std::string cell;
    size_t col = 0;
    while (std::getline(row, cell, ',')) {
      char* end = nullptr;
      const long long v = std::strtoll(cell.c_str(), &end, 10);
      const std::string where = path + ":" + std::to_string(lineno) + ": column " +
                                std::to_string(col + 1) + " ('" +
                                (col < header.size() ? header[col] : std::string("?")) + "') ";
      if (end == cell.c_str() || *end != '\0') {
        *error = where + "is '" + cell + "', expected an integer";
        return false;
      }
      if (col == 0) {
        times.push_back(v);
      } else if (col >= 2 && col < header.size()) {
        if (v < 0 || v > 65535) {
          *error = where + "is " + cell + ", expected raw ADC counts 0..65535";
          return false;
        }
        r.counts.push_back(static_cast<uint16_t>(v));
      }
      ++col;
    }
    if (col != header.size()) {
      *error = path + ":" + std::to_string(lineno) + ": " + std::to_string(col) +
               " columns, expected " + std::to_string(header.size());
      return false;
    }
    ++r.rows;
  }
  if (r.rows == 0) {
    *error = path + ": no samples";
    return false;
  }
  if (times.size() >= 2) {
    std::vector<int64_t> dt(times.size() - 1);
    for (size_t i = 0; i + 1 < times.size(); ++i) dt[i] = times[i + 1] - times[i];
    std::nth_element(dt.begin(), dt.begin() + dt.size() / 2, dt.end());
    const int64_t med = dt[dt.size() / 2];
    if (med > 0) r.rate_hz = 1e6 / static_cast<double>(med);
  }
  *out = std::move(r);
  return true;
}

namespace {

class SyntheticSource : public EmgSource {
 public:
  SyntheticSource(ActivationScript script, size_t channels, uint32_t rate_hz, unsigned adc_bits,
                  uint64_t seed)
      : script_(std::move(script)),
        channels_(channels),
        rate_hz_(rate_hz),
        mid_(static_cast<double>(1u << (adc_bits - 1))),
        max_(static_cast<double>((1u << adc_bits) - 1)),
        rng_(seed) {}

  void sample(uint64_t k, uint16_t* values) override {
    const double t = static_cast<double>(k) / rate_hz_;
    for (size_t c = 0; c < channels_; ++c) {
      const double a = script_.activation(t, c);
      // Rest: ~3 counts RMS of electrode noise; a full contraction: ~220 counts RMS.
      const double v = mid_ + rng_.normal() * (3.0 + 220.0 * a);
      values[c] = static_cast<uint16_t>(std::clamp(std::lround(v), 0L, static_cast<long>(max_)));
    }
  }
  double conversion_noise() const override { return 1.0; }

 private:
  ActivationScript script_;
  size_t channels_;
  uint32_t rate_hz_;
  double mid_, max_;
  Rng rng_;
};

class ReplaySource : public EmgSource {
 public:
  explicit ReplaySource(CsvRecording r) : r_(std::move(r)) {}
  void sample(uint64_t k, uint16_t* values) override {
    const size_t ch = r_.channel_names.size();
    const size_t row = static_cast<size_t>(k % r_.rows);
    for (size_t c = 0; c < ch; ++c) values[c] = r_.counts[row * ch + c];
  }
  double conversion_noise() const override { return 0.0; }

 private:
  CsvRecording r_;
};

}  // namespace

std::unique_ptr<EmgSource> make_synthetic_source(ActivationScript script, size_t channels,
                                                 uint32_t rate_hz, unsigned adc_bits,
                                                 uint64_t seed) {
  return std::make_unique<SyntheticSource>(std::move(script), channels, rate_hz, adc_bits, seed);
}

std::unique_ptr<EmgSource> make_replay_source(CsvRecording recording) {
  return std::make_unique<ReplaySource>(std::move(recording));
}

}  // namespace rhsim
